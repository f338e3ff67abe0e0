//! dolma's `metadata.url`: the target URI without scheme, `www.` prefix, fragment or trailing
//! slashes, host lower-cased, default port dropped, query arguments sorted (what dolma gets
//! from `w3lib.canonicalize_url` + `url_normalize` + its own regexes; percent-encoding is
//! left as found).

/// Strips `<…>` and quotes some WARC writers put around `WARC-Target-URI`.
pub fn clean_target(uri: &str) -> &str {
    uri.trim()
        .trim_start_matches(['<', '"', '\''])
        .trim_end_matches(['>', '"', '\''])
}

/// Normalizes a URL the way dolma's `UrlNormalizer` does (see the module docs).
pub fn normalize(url: &str) -> String {
    let u = clean_target(url);
    let (scheme, rest) = match u.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => (String::new(), u),
    };
    let rest = rest.split('#').next().unwrap_or("");
    let (auth, path_q) = rest
        .find(['/', '?'])
        .and_then(|i| rest.split_at_checked(i))
        .unwrap_or((rest, ""));
    let auth = auth.rsplit('@').next().unwrap_or(auth);
    let mut host = auth.to_ascii_lowercase();
    for (s, port) in [("http", ":80"), ("https", ":443")] {
        if scheme == s && host.ends_with(port) {
            host.truncate(host.len() - port.len());
        }
    }
    let host = host.trim_end_matches('.');
    let host = strip_www(host);
    let (path, query) = match path_q.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_q, None),
    };
    let mut out = String::with_capacity(u.len());
    out.push_str(host);
    out.push_str(if path.is_empty() { "/" } else { path });
    if let Some(q) = query {
        let mut args: Vec<&str> = q.split('&').filter(|a| !a.is_empty()).collect();
        args.sort();
        if !args.is_empty() {
            out.push('?');
            out.push_str(&args.join("&"));
        }
    }
    while out.ends_with('/') {
        out.pop();
    }
    out
}

fn strip_www(host: &str) -> &str {
    if let Some(r) = host.strip_prefix("www") {
        let digits = r.trim_start_matches(|c: char| c.is_ascii_digit());
        if let Some(h) = digits.strip_prefix('.') {
            return h;
        }
    }
    host
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_dolma() {
        assert_eq!(normalize("<https://www.Soldaini.net/>"), "soldaini.net");
        assert_eq!(
            normalize("http://WWW2.example.com:80/a/b/?z=1&a=2#frag"),
            "example.com/a/b/?a=2&z=1"
        );
        assert_eq!(
            normalize("https://creativecommons.org/licenses/by/4.0/"),
            "creativecommons.org/licenses/by/4.0"
        );
    }
}
