//! `code_secrets_v1`: dolma 1.2.1's secrets tagger (`taggers/code/code_taggers.py`), which
//! runs detect-secrets 1.4.0 with its default settings over the text as a file named
//! `code_str.yml`.
//!
//! What that means, reproduced here:
//! - **Lines** are Python's `str.splitlines()`; each is `rstrip()`ped before scanning.
//! - **Line filters** skip a whole line: an allowlist pragma (`pragma: allowlist secret` after
//!   `#`, `//`, `/*`, `'`, `--` or `<!--` on the line, or `pragma: allowlist nextline secret`
//!   on the line before; `.yml` is not detect-secrets' `yaml`, so every comment style
//!   applies) and an *indirect reference* (`x = f(…)`, `x = a[…]`, for lines of at most 1,000
//!   characters).
//! - **The 22 plugins** of detect-secrets 1.4.0: 19 regex detectors (AWS, Artifactory, Azure,
//!   basic-auth URLs, Cloudant, Discord, GitHub, IBM Cloud IAM and COS HMAC, JWT, Mailchimp,
//!   NPM, private keys, SendGrid, Slack, SoftLayer, Square, Stripe, Twilio), the two
//!   high-entropy string detectors (quoted Base64 strings above 4.5 bits of Shannon entropy
//!   per character, hex strings above 3.0, all-digit hex strings penalised by
//!   `1.2 / log2(len)`), and the keyword detector with its YAML/config regexes. A regex
//!   detector's secret is what Python's `re.findall` returns: the whole match, its one group,
//!   or each non-empty group (so GitHub's secret is its prefix group `ghp`, and Artifactory's
//!   includes the delimiters around the token).
//! - **Secret filters**: sequential strings (`abcdef…`, `0123…`), UUIDs, templates
//!   (`{x}`, `<x>`, `${x}`), a leading `$`, no ASCII letter, and, for the entropy and keyword
//!   detectors only, an id-like name before the secret (`id=`, `user_id:`).
//! - **One secret per value and type** (detect-secrets keeps a set keyed by the SHA-1 of the
//!   value and the type): the first line's copy; the spans come out sorted by line, SHA-1 hex
//!   and type, as detect-secrets iterates them.
//! - **Spans**, dolma's arithmetic: the first occurrence of the secret's *line* in the text,
//!   plus the first occurrence of the secret in that line, in code points; a span's signal is
//!   `SECRET_<type with spaces as _>` with score 1, and `doc` is the number of secrets over the
//!   number of whitespace-separated words (-1 without words).
//!
//! Regexes are Python's, with `\w` and `\s` spelled as Python's classes (letters and numbers,
//! and `str.isspace()`), and Python's case-insensitive `i` matching `İ` and `ı`; the ones with
//! back-references and look-arounds run on `fancy-regex`, a backtracking engine with Python's
//! match order. A line on which a detector's backtracking exceeds `fancy-regex`'s limit counts
//! as no match for that detector (Python has no limit). JWTs are checked as detect-secrets
//! checks them (`base64.urlsafe_b64decode` as CPython's `binascii` decodes non-strictly, then
//! `json.loads` of the first two parts, NaN and Infinity included).

use crate::code::py_splitlines;
use crate::pytext::{char_len, py_word_count, PY_SPACE_CLASS};
use fancy_regex::Regex;
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use sha1::{Digest, Sha1};
use std::collections::HashSet;
use std::sync::OnceLock;

/// The signals `code_secrets_v1` writes: one per detect-secrets secret type, then `doc`.
pub const SIGNALS: &[&str] = &[
    "SECRET_Artifactory_Credentials",
    "SECRET_AWS_Access_Key",
    "SECRET_Azure_Storage_Account_access_key",
    "SECRET_Basic_Auth_Credentials",
    "SECRET_Cloudant_Credentials",
    "SECRET_Discord_Bot_Token",
    "SECRET_GitHub_Token",
    "SECRET_Base64_High_Entropy_String",
    "SECRET_Hex_High_Entropy_String",
    "SECRET_IBM_Cloud_IAM_Key",
    "SECRET_IBM_COS_HMAC_Credentials",
    "SECRET_JSON_Web_Token",
    "SECRET_Secret_Keyword",
    "SECRET_Mailchimp_Access_Key",
    "SECRET_NPM_tokens",
    "SECRET_Private_Key",
    "SECRET_SendGrid_API_Key",
    "SECRET_Slack_Token",
    "SECRET_SoftLayer_Credentials",
    "SECRET_Square_OAuth_Secret",
    "SECRET_Stripe_Access_Key",
    "SECRET_Twilio_API_Key",
    "doc",
];

/// Python's `\w` inside a character class: `str.isalnum()` characters and `_`.
const W: &str = r"\p{L}\p{N}_";

/// How a plugin finds its secrets in a line.
enum Finder {
    /// `re.findall` over each pattern (detect-secrets' `RegexBasedDetector`).
    Regex(Vec<Pat>),
    /// `re.findall` over each pattern, keeping formally valid JWTs.
    Jwt(Regex),
    /// Quoted strings of a charset above an entropy limit.
    Entropy {
        charset: &'static str,
        limit: f64,
        hex: bool,
    },
    /// The keyword detector: the first match of each `(pattern, group)`, all of which need
    /// one of the keywords `pre` finds.
    Keyword {
        pre: String,
        slot: usize,
        res: Vec<(Pat, usize)>,
    },
}

/// A detector's pattern, and a prefilter: the same pattern, without the look-arounds where it
/// has them (which run on the slower backtracking engine), so a line it does not match cannot
/// match either. `is_match` on it is much cheaper than `captures_iter` on a line without a
/// match (most lines).
struct Pat {
    re: Regex,
    pre: String,
    slot: usize,
}

struct Plugin {
    secret_type: &'static str,
    finder: Finder,
}

struct Rules {
    plugins: Vec<Plugin>,
    prefilters: Vec<regex::Regex>,
    allow_line: Vec<regex::Regex>,
    allow_next: Vec<regex::Regex>,
    indirect: regex::Regex,
    uuid: regex::Regex,
    id_before: regex::Regex,
}

/// `RegexBasedDetector.build_assignment_regex`: `<prefix>(-|_|)<keyword> <assignment>
/// <secret>`, keys and values optionally quoted, case-insensitive.
/// `secret_pre` is `secret` without its look-ahead, for the prefilter.
fn assignment(prefix: &str, keyword: &str, secret: &str, secret_pre: &str) -> Pat {
    let body = |secret: &str| {
        format!(
            r#"(?:\[|)(?:"|'|){prefix}(?:_|-|){keyword}(?:"|'|)(?:\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:"|'|){secret}(?:"|'|)"#
        )
    };
    Pat {
        re: fancy_re(&ci(&format!("(?:(?<=[^{W}])|^){}", body(secret)))),
        pre: ci(&body(secret_pre)),
        slot: 0,
    }
}

/// A Python pattern compiled with `re.IGNORECASE`: `(?i)`, plus what Python's case folding
/// adds to Rust's, `İ` and `ı` for every literal `i` and every class holding `a-z`.
fn ci(body: &str) -> String {
    let mut out = String::from("(?i)");
    let mut chars = body.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                let Some(n) = chars.next() else { break };
                out.push(n);
                if matches!(n, 'p' | 'P') && chars.peek() == Some(&'{') {
                    for m in chars.by_ref() {
                        out.push(m);
                        if m == '}' {
                            break;
                        }
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` first in a class is a literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            'i' if !in_class => out.push_str("[iIİı]"),
            'z' if in_class && out.ends_with("a-") => out.push_str("zİı"),
            _ => out.push(c),
        }
    }
    out
}

// Constant patterns (the unit tests compile every one): building them cannot fail.
fn fancy(p: &str) -> Pat {
    Pat {
        re: Regex::new(p).unwrap_or_else(|e| panic!("static regex {p}: {e}")),
        pre: p.to_string(),
        slot: 0,
    }
}

#[allow(clippy::expect_used)]
fn fancy_re(p: &str) -> Regex {
    fancy(p).re
}

#[allow(clippy::expect_used)]
fn plain(p: &str) -> regex::Regex {
    regex::Regex::new(p).unwrap_or_else(|e| panic!("static regex {p}: {e}"))
}

fn rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(build_rules)
}

fn build_rules() -> Rules {
    let s = PY_SPACE_CLASS;
    // The keyword detector's pieces (detect_secrets/plugins/keyword.py); Python's
    // case-insensitive `i` also matches U+0130 and U+0131.
    let words = [
        "api_?key",
        "auth_?key",
        "service_?key",
        "account_?key",
        "db_?key",
        "database_?key",
        "priv_?key",
        "private_?key",
        "client_?key",
        "db_?pass",
        "database_?pass",
        "key_?pass",
        "password",
        "passwd",
        "pwd",
        "secret",
        "contraseña",
        "contrasena",
    ]
    .join("|");
    let deny = format!("({words})[{W}]*");
    let deny_with_prefix = format!("[{W}]*{deny}");
    let closing = r#"[\]'"]{0,2}"#;
    let quote = r#"['"`]"#;
    let secret = format!(r#"(?=[^\x0B'"]*)(?=[{W}]+)[^\x0B'"]*[^\x0B,'"`]"#);
    let ws = format!("[{s}]*");
    let colon = ci(&format!(r"{deny}({closing})?:{ws}({quote}?)({secret})(\3)"));
    let preceded = format!(r"({quote})({secret})(\1){ws}[!=]{{2,3}}{ws}{deny_with_prefix}");
    let equals = ci(&format!(
        r"{deny}({closing})?{ws}(={{1,3}}|!==?){ws}({quote}?)({secret})(\4)"
    ));
    let semicolon = ci(&format!(
        r"{deny}[^{s}]{{0,50}}?{ws}({quote})({secret})(\2);"
    ));
    // Their prefilters: back-references and look-aheads widened to the classes they stand in.
    let keyword = |re: &str, pre: String, group: usize| {
        (
            Pat {
                re: fancy_re(re),
                pre,
                slot: 0,
            },
            group,
        )
    };
    let keywords = vec![
        keyword(
            &colon,
            ci(&format!(r"{deny}(?:{closing})?:{ws}{quote}?[{W}]")),
            4,
        ),
        keyword(
            &preceded,
            format!(r#"{quote}[^\x0B'"]*{quote}{ws}[!=]{{2,3}}{ws}{deny_with_prefix}"#),
            2,
        ),
        keyword(
            &equals,
            ci(&format!(
                r"{deny}(?:{closing})?{ws}(?:={{1,3}}|!==?){ws}{quote}?[{W}]"
            )),
            5,
        ),
        keyword(
            &semicolon,
            ci(&format!(
                r#"{deny}[^{s}]{{0,50}}{ws}{quote}[^\x0B'"]*{quote};"#
            )),
            3,
        ),
    ];

    let plugins = vec![
        Plugin {
            secret_type: "Artifactory Credentials",
            finder: Finder::Regex(vec![
                fancy(&format!(r#"(?:[{s}]|=|:|"|^)AKC[a-zA-Z0-9]{{10,}}(?:[{s}]|"|$)"#)),
                fancy(&format!(r#"(?:[{s}]|=|:|"|^)AP[\dABCDEF][a-zA-Z0-9]{{8,}}(?:[{s}]|"|$)"#)),
            ]),
        },
        Plugin {
            secret_type: "AWS Access Key",
            finder: Finder::Regex(vec![
                fancy("AKIA[0-9A-Z]{16}"),
                fancy(&ci(r#"aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?['"]([0-9a-zA-Z/+]{40})['"]"#)),
            ]),
        },
        Plugin {
            secret_type: "Azure Storage Account access key",
            finder: Finder::Regex(vec![fancy(r"AccountKey=[a-zA-Z0-9+/=]{88}")]),
        },
        Plugin {
            secret_type: "Basic Auth Credentials",
            finder: Finder::Regex(vec![fancy(&format!(
                r#"://[^:/?#\[\]@!$&'()*+,;={s}]+:([^:/?#\[\]@!$&'()*+,;={s}]+)@"#
            ))]),
        },
        Plugin {
            secret_type: "Cloudant Credentials",
            finder: Finder::Regex({
                let cl = "(?:cloudant|cl|clou)";
                let key = "(?:api|)(?:key|pwd|pw|password|pass|token)";
                let account = format!(r"[{W}\-]+");
                vec![
                    assignment(cl, key, "([0-9a-f]{64})", "([0-9a-f]{64})"),
                    assignment(cl, key, "([a-z]{24})", "([a-z]{24})"),
                    fancy(&ci(&format!(
                        r"(?:https?://){account}:([0-9a-f]{{64}})@{account}\.cloudant\.com"
                    ))),
                    fancy(&ci(&format!(
                        r"(?:https?://){account}:([a-z]{{24}})@{account}\.cloudant\.com"
                    ))),
                ]
            }),
        },
        Plugin {
            secret_type: "Discord Bot Token",
            finder: Finder::Regex(vec![fancy(
                r"[MN][a-zA-Z\d_\-]{23}\.[a-zA-Z\d_\-]{6}\.[a-zA-Z\d_\-]{27}",
            )]),
        },
        Plugin {
            secret_type: "GitHub Token",
            finder: Finder::Regex(vec![fancy("(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}")]),
        },
        Plugin {
            secret_type: "Base64 High Entropy String",
            finder: Finder::Entropy {
                charset: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/\\-_=",
                limit: 4.5,
                hex: false,
            },
        },
        Plugin {
            secret_type: "Hex High Entropy String",
            finder: Finder::Entropy {
                charset: "0123456789abcdefABCDEF",
                limit: 3.0,
                hex: true,
            },
        },
        Plugin {
            secret_type: "IBM Cloud IAM Key",
            finder: Finder::Regex(vec![assignment(
                "(?:ibm(?:_|-|)cloud(?:_|-|)iam|cloud(?:_|-|)iam|ibm(?:_|-|)cloud|ibm(?:_|-|)iam|ibm|iam|cloud|)(?:_|-|)(?:api|)",
                "(?:key|pwd|password|pass|token)",
                r"([a-zA-Z0-9_\-]{44}(?![a-zA-Z0-9_\-]))",
                r"([a-zA-Z0-9_\-]{44})",
            )]),
        },
        Plugin {
            secret_type: "IBM COS HMAC Credentials",
            finder: Finder::Regex(vec![assignment(
                "(?:(?:ibm)?[-_]?cos[-_]?(?:hmac)?|)",
                "(?:secret[-_]?(?:access)?[-_]?key)",
                "([a-f0-9]{48}(?![a-f0-9]))",
                "([a-f0-9]{48})",
            )]),
        },
        Plugin {
            secret_type: "JSON Web Token",
            finder: Finder::Jwt(fancy_re(
                r"eyJ[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+\.?[A-Za-z0-9\-_.+/=]*?",
            )),
        },
        Plugin {
            secret_type: "Secret Keyword",
            // detect-secrets' regexes for YAML and other config files, in its order.
            finder: Finder::Keyword {
                pre: ci(&format!("(?:{words})")),
                slot: 0,
                res: keywords,
            },
        },
        Plugin {
            secret_type: "Mailchimp Access Key",
            finder: Finder::Regex(vec![fancy("[0-9a-z]{32}-us[0-9]{1,2}")]),
        },
        Plugin {
            secret_type: "NPM tokens",
            finder: Finder::Regex(vec![fancy(&format!(
                r"//.+/:_authToken=[{s}]*((npm_.+)|([A-Fa-f0-9\-]{{36}})).*"
            ))]),
        },
        Plugin {
            secret_type: "Private Key",
            finder: Finder::Regex(
                [
                    "BEGIN DSA PRIVATE KEY",
                    "BEGIN EC PRIVATE KEY",
                    "BEGIN OPENSSH PRIVATE KEY",
                    "BEGIN PGP PRIVATE KEY BLOCK",
                    "BEGIN PRIVATE KEY",
                    "BEGIN RSA PRIVATE KEY",
                    "BEGIN SSH2 ENCRYPTED PRIVATE KEY",
                    "PuTTY-User-Key-File-2",
                ]
                .iter()
                .map(|p| fancy(p))
                .collect(),
            ),
        },
        Plugin {
            secret_type: "SendGrid API Key",
            finder: Finder::Regex(vec![fancy(r"SG\.[a-zA-Z0-9_\-]{22}\.[a-zA-Z0-9_\-]{43}")]),
        },
        Plugin {
            secret_type: "Slack Token",
            finder: Finder::Regex(vec![
                fancy(&ci(r"xox(?:a|b|p|o|s|r)-(?:\d+-)+[a-z0-9]+")),
                fancy(&ci(
                    r"https://hooks\.slack\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+",
                )),
            ]),
        },
        Plugin {
            secret_type: "SoftLayer Credentials",
            finder: Finder::Regex(vec![
                assignment(
                    "(?:softlayer|sl)(?:_|-|)(?:api|)",
                    "(?:key|pwd|password|pass|token)",
                    "([a-z0-9]{64})",
                    "([a-z0-9]{64})",
                ),
                fancy(&ci(
                    r"(?:http|https)://api.softlayer.com/soap/(?:v3|v3.1)/([a-z0-9]{64})",
                )),
            ]),
        },
        Plugin {
            secret_type: "Square OAuth Secret",
            finder: Finder::Regex(vec![fancy(r"sq0csp-[0-9A-Za-z\\\-_]{43}")]),
        },
        Plugin {
            secret_type: "Stripe Access Key",
            finder: Finder::Regex(vec![fancy("(?:r|s)k_live_[0-9a-zA-Z]{24}")]),
        },
        Plugin {
            secret_type: "Twilio API Key",
            finder: Finder::Regex(vec![fancy("AC[a-z0-9]{32}"), fancy("SK[a-z0-9]{32}")]),
        },
    ];
    // detect_secrets/filters/allowlist.py: the comment styles, each as `(start, end)`.
    let comments = [
        ("#", ""),
        ("//", ""),
        (r"/\*", r" *\*/"),
        ("'", ""),
        ("--", ""),
        (r"<!--[# \t]*?", " *?-->"),
    ];
    let allow_line = comments
        .iter()
        .map(|(a, b)| {
            plain(&format!(
                r"[ \t]*{a} *pragma: ?(allow|white)list[ -]secret.*?{b}[ \t]*$"
            ))
        })
        .collect();
    let allow_next = comments
        .iter()
        .map(|(a, b)| {
            plain(&format!(
                r"^[ \t]*{a} *pragma: ?allowlist[ -]nextline[ -]secret.*?{b}[ \t]*$"
            ))
        })
        .collect();
    // Number the prefilters, and compile them.
    let mut plugins = plugins;
    let mut pres = Vec::new();
    for p in &mut plugins {
        match &mut p.finder {
            Finder::Regex(pats) => {
                for pat in pats {
                    pat.slot = pres.len();
                    pres.push(pat.pre.clone());
                }
            }
            Finder::Keyword { pre, slot, res } => {
                *slot = pres.len();
                pres.push(pre.clone());
                for (pat, _) in res {
                    pat.slot = pres.len();
                    pres.push(pat.pre.clone());
                }
            }
            _ => {}
        }
    }
    let prefilters = pres.iter().map(|p| plain(p)).collect();
    Rules {
        prefilters,
        plugins,
        allow_line,
        allow_next,
        indirect: plain(&format!(
            r"([^\x0B=!:]*)[{s}]*(:=?|[!=]{{1,3}})[{s}]*([{W}.\-]+[\[(][^\x0B]*[\])])"
        )),
        uuid: plain(&ci(
            r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
        )),
        id_before: plain(&ci(r"(^(id|myid|userid)|_id)s?[^a-z0-9]")),
    }
}

/// `re.findall` as detect-secrets' `RegexBasedDetector.analyze_string` uses it: per match,
/// the whole match (no groups), group 1 (one group, `""` when it did not take part) or each
/// non-empty group.
fn findall<'t>(re: &Regex, line: &'t str, out: &mut Vec<&'t str>) {
    for caps in re.captures_iter(line) {
        // Past fancy-regex's backtracking limit: no (further) match, see the module docs.
        let Ok(caps) = caps else { break };
        match caps.len() {
            1 => out.push(caps.get(0).map_or("", |m| m.as_str())),
            2 => out.push(caps.get(1).map_or("", |m| m.as_str())),
            _ => out.extend(
                (1..caps.len())
                    .filter_map(|g| caps.get(g))
                    .map(|m| m.as_str())
                    .filter(|m| !m.is_empty()),
            ),
        }
    }
}

/// The quoted strings of `charset` in `line`: `(['"])([charset]+)(\1)` under `re.findall`.
fn quoted<'t>(line: &'t str, charset: &str, out: &mut Vec<&'t str>) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let q = b[i];
        if q == b'"' || q == b'\'' {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && charset.as_bytes().contains(&b[j]) {
                j += 1;
            }
            if j > start && b.get(j) == Some(&q) {
                // ASCII bounds: char boundaries.
                if let Some(s) = line.get(start..j) {
                    out.push(s);
                }
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
}

/// detect-secrets' Shannon entropy over `charset` (`- Σ p log2 p`, in the charset's order as
/// Python sums it); hex strings of digits only lose `1.2 / log2(len)`.
fn entropy(data: &str, charset: &str, hex: bool) -> f64 {
    let n = data.len() as f64;
    let mut e = 0.0;
    for c in charset.bytes() {
        let count = data.bytes().filter(|&b| b == c).count();
        if count > 0 {
            let p = count as f64 / n;
            e += -p * (p.ln() / 2f64.ln());
        }
    }
    if hex && data.len() > 1 && data.bytes().all(|b| b.is_ascii_digit()) {
        e -= 1.2 / ((data.len() as f64).ln() / 2f64.ln());
    }
    e
}

/// CPython's `binascii.a2b_base64` in its non-strict mode: characters outside the alphabet are
/// skipped, a complete pad ends the data; `None` where it raises.
fn a2b_base64(s: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut quad, mut left, mut pads) = (0u8, 0u8, 0u8);
    for &c in s {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let Some(v) = value(c) else { continue };
        pads = 0;
        match quad {
            0 => {
                quad = 1;
                left = v;
            }
            1 => {
                quad = 2;
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
            }
            2 => {
                quad = 3;
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
            }
            _ => {
                quad = 0;
                out.push((left << 6) | v);
                left = 0;
            }
        }
    }
    (quad == 0).then_some(out)
}

/// `JwtTokenDetector.is_formally_valid`: every `.`-separated part decodes as URL-safe Base64
/// (padded to a multiple of 4; a length of 1 more than one is invalid) and the first two are
/// UTF-8 JSON.
fn jwt_valid(token: &str) -> bool {
    for (i, part) in token.split('.').enumerate() {
        if !part.is_ascii() || part.len() % 4 == 1 {
            return false;
        }
        let mut b: Vec<u8> = part
            .bytes()
            .map(|c| match c {
                b'-' => b'+',
                b'_' => b'/',
                c => c,
            })
            .collect();
        let pad = match part.len() % 4 {
            2 => 2,
            3 => 3,
            _ => 0,
        };
        b.extend(std::iter::repeat_n(b'=', pad));
        let Some(decoded) = a2b_base64(&b) else {
            return false;
        };
        if i < 2 {
            match std::str::from_utf8(&decoded) {
                Ok(s) if py_json_valid(s) => {}
                _ => return false,
            }
        }
    }
    true
}

/// Whether Python's `json.loads` accepts `s` (standard JSON plus `NaN`, `Infinity` and
/// `-Infinity`, any `\u` escape, no control characters inside strings).
fn py_json_valid(s: &str) -> bool {
    struct P<'a> {
        b: &'a [u8],
        i: usize,
    }
    impl P<'_> {
        fn ws(&mut self) {
            while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.i += 1;
            }
        }
        fn lit(&mut self, l: &[u8]) -> bool {
            if self.b.get(self.i..self.i + l.len()) == Some(l) {
                self.i += l.len();
                true
            } else {
                false
            }
        }
        fn digits(&mut self) -> usize {
            let s = self.i;
            while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            self.i - s
        }
        fn string(&mut self) -> bool {
            self.i += 1;
            loop {
                match self.b.get(self.i) {
                    None => return false,
                    Some(b'"') => {
                        self.i += 1;
                        return true;
                    }
                    Some(b'\\') => {
                        self.i += 1;
                        match self.b.get(self.i) {
                            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                                self.i += 1
                            }
                            Some(b'u') => {
                                let hex = self.b.get(self.i + 1..self.i + 5);
                                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                    return false;
                                }
                                self.i += 5;
                            }
                            _ => return false,
                        }
                    }
                    Some(&c) if c < 0x20 => return false,
                    Some(_) => self.i += 1,
                }
            }
        }
        fn value(&mut self, depth: usize) -> bool {
            if depth > 512 {
                return false;
            }
            match self.b.get(self.i) {
                Some(b'"') => self.string(),
                Some(b'{') => {
                    self.i += 1;
                    self.ws();
                    if self.lit(b"}") {
                        return true;
                    }
                    loop {
                        if self.b.get(self.i) != Some(&b'"') || !self.string() {
                            return false;
                        }
                        self.ws();
                        if !self.lit(b":") {
                            return false;
                        }
                        self.ws();
                        if !self.value(depth + 1) {
                            return false;
                        }
                        self.ws();
                        if self.lit(b"}") {
                            return true;
                        }
                        if !self.lit(b",") {
                            return false;
                        }
                        self.ws();
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if self.lit(b"]") {
                        return true;
                    }
                    loop {
                        if !self.value(depth + 1) {
                            return false;
                        }
                        self.ws();
                        if self.lit(b"]") {
                            return true;
                        }
                        if !self.lit(b",") {
                            return false;
                        }
                        self.ws();
                    }
                }
                Some(b'n') => self.lit(b"null"),
                Some(b't') => self.lit(b"true"),
                Some(b'f') => self.lit(b"false"),
                Some(b'N') => self.lit(b"NaN"),
                Some(b'I') => self.lit(b"Infinity"),
                Some(b'-' | b'0'..=b'9') => {
                    if self.lit(b"-Infinity") {
                        return true;
                    }
                    self.lit(b"-");
                    // An integer part is `0` or digits not starting with `0`.
                    if !self.lit(b"0") && self.digits() == 0 {
                        return false;
                    }
                    // A fraction or exponent without digits is left for the caller to
                    // reject as extra data, as Python's scanner does.
                    let save = self.i;
                    if self.lit(b".") && self.digits() == 0 {
                        self.i = save;
                    }
                    let save = self.i;
                    if self.lit(b"e") || self.lit(b"E") {
                        let _sign = self.lit(b"+") || self.lit(b"-");
                        if self.digits() == 0 {
                            self.i = save;
                        }
                    }
                    true
                }
                _ => false,
            }
        }
    }
    let mut p = P {
        b: s.as_bytes(),
        i: 0,
    };
    p.ws();
    if !p.value(0) {
        return false;
    }
    p.ws();
    p.i == p.b.len()
}

/// detect-secrets' secret filters (`detect_secrets/filters/heuristic.py`); `id_like` only for
/// the entropy and keyword plugins.
fn filtered(r: &Rules, secret: &str, line: &str, id_like: bool) -> bool {
    const SEQUENCES: &[&str] = &[
        "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/",
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ+/",
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "01234567890123456789",
        "0123456789ABCDEFABCDEF0123456789ABCDEFABCDEF",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ=/",
    ];
    let upper = secret.to_uppercase();
    if SEQUENCES.iter().any(|s| s.contains(upper.as_str())) {
        return true;
    }
    if r.uuid.is_match(secret) {
        return true;
    }
    // Templates (`{x}`, `<x>`; an empty secret counts as one) and anything starting with `$`
    // (which covers the filter's `${x}` and its IndexError on "$").
    if matches!(
        (secret.chars().next(), secret.chars().next_back()),
        (None, _) | (Some('$'), _) | (Some('{'), Some('}')) | (Some('<'), Some('>'))
    ) {
        return true;
    }
    if !secret.bytes().any(|b| b.is_ascii_alphabetic()) {
        return true;
    }
    if id_like {
        if let Some(at) = line.find(secret) {
            if r.id_before.is_match(line.get(..at).unwrap_or("")) {
                return true;
            }
        }
    }
    false
}

/// Python's `str.rstrip()`.
fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(crate::pytext::is_py_space)
}

/// One secret as detect-secrets reports it.
struct Found<'t> {
    line: usize,
    hash: [u8; 20],
    secret_type: &'static str,
    value: &'t str,
}

/// Every secret of `text`, deduplicated and ordered as detect-secrets' `SecretsCollection`.
fn scan(text: &str) -> (Vec<&str>, Vec<Found<'_>>) {
    let r = rules();
    let lines = py_splitlines(text);
    let mut found: Vec<Found<'_>> = Vec::new();
    let mut seen: HashSet<([u8; 20], &'static str)> = HashSet::new();
    let mut values = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let line = py_rstrip(raw);
        let previous = if i == 0 { "" } else { lines[i - 1] };
        if r.allow_line.iter().any(|re| re.is_match(line))
            || r.allow_next.iter().any(|re| re.is_match(previous))
            || (char_len(line) <= 1000 && r.indirect.is_match(line))
        {
            continue;
        }
        let hits = |slot: usize| r.prefilters.get(slot).is_some_and(|p| p.is_match(line));
        for plugin in &r.plugins {
            values.clear();
            let id_like = matches!(
                plugin.finder,
                Finder::Entropy { .. } | Finder::Keyword { .. }
            );
            match &plugin.finder {
                Finder::Regex(pats) => {
                    for p in pats {
                        if hits(p.slot) {
                            findall(&p.re, line, &mut values);
                        }
                    }
                }
                Finder::Jwt(re) => {
                    findall(re, line, &mut values);
                    values.retain(|v| jwt_valid(v));
                }
                Finder::Entropy {
                    charset,
                    limit,
                    hex,
                } => {
                    quoted(line, charset, &mut values);
                    values.retain(|v| entropy(v, charset, *hex) > *limit);
                }
                Finder::Keyword { slot, res, .. } => {
                    if !hits(*slot) {
                        continue;
                    }
                    for (pat, group) in res {
                        if !hits(pat.slot) {
                            continue;
                        }
                        if let Ok(Some(caps)) = pat.re.captures(line) {
                            if let Some(m) = caps.get(*group) {
                                values.push(m.as_str());
                            }
                        }
                    }
                }
            }
            for &v in &values {
                if filtered(r, v, line, id_like) {
                    continue;
                }
                let hash: [u8; 20] = Sha1::digest(v.as_bytes()).into();
                if seen.insert((hash, plugin.secret_type)) {
                    found.push(Found {
                        line: i,
                        hash,
                        secret_type: plugin.secret_type,
                        value: v,
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| (a.line, a.hash, a.secret_type).cmp(&(b.line, b.hash, b.secret_type)));
    (lines, found)
}

/// `code_secrets_v1`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CodeSecretsV1;

impl Tagger for CodeSecretsV1 {
    fn name(&self) -> &str {
        "code_secrets_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        let text = doc.text.as_str();
        let (lines, found) = scan(text);
        for f in &found {
            let line = lines.get(f.line).copied().unwrap_or("");
            // dolma: the first occurrence of the line in the text, then of the secret in it.
            let (Some(line_at), Some(in_line)) = (text.find(line), line.find(f.value)) else {
                continue;
            };
            let start = char_len(text.get(..line_at).unwrap_or(""))
                + char_len(line.get(..in_line).unwrap_or(""));
            let end = start + char_len(f.value);
            let name = format!("SECRET_{}", f.secret_type.replace(' ', "_"));
            out.push(&name, Span::new(start, end, 1.0));
        }
        let words = py_word_count(text);
        let score = if words == 0 {
            -1.0
        } else {
            found.len() as f64 / words as f64
        };
        out.push("doc", Span::new(0, char_len(text), score));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(text: &str) -> Vec<(String, usize, usize)> {
        let mut s = Signals::default();
        CodeSecretsV1
            .tag(&Document::new("d", text), &mut s)
            .expect("tag");
        let mut v: Vec<(String, usize, usize)> = s
            .iter()
            .filter(|(k, _)| k.as_str() != "doc")
            .flat_map(|(k, spans)| spans.iter().map(move |x| (k.clone(), x.start, x.end)))
            .collect();
        v.sort_by_key(|x| x.1);
        v
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(rules().plugins.len(), 22);
        assert_eq!(SIGNALS.len(), 23);
        for p in &rules().plugins {
            let name = format!("SECRET_{}", p.secret_type.replace(' ', "_"));
            assert!(SIGNALS.contains(&name.as_str()), "{name}");
        }
    }

    #[test]
    fn finds_typical_secrets_with_dolmas_spans() {
        let text = "x\naws_key = 'AKIAIOSFODNN7EXAMPLE'\n";
        let got = secrets(text);
        assert!(
            got.contains(&("SECRET_AWS_Access_Key".into(), 13, 33)),
            "{got:?}"
        );
        // The keyword detector's config regex: the rest of the line after `password: `.
        let got = secrets("password: hunter2 and more");
        assert_eq!(got, vec![("SECRET_Secret_Keyword".into(), 10, 26)]);
        // An indirect reference skips the line, an allowlist pragma too.
        assert!(secrets("password = get_secret(key)").is_empty());
        assert!(secrets("password: hunter2 # pragma: allowlist secret").is_empty());
        assert!(secrets("# pragma: allowlist nextline secret\npassword: hunter2").is_empty());
    }

    #[test]
    fn ignorecase_is_pythons() {
        assert!(plain(&ci("[a-z]")).is_match("ı"));
        assert!(plain(&ci("id")).is_match("İd"));
        assert!(!plain(&ci("[^a-z]")).is_match("İ"));
        assert!(plain(&ci(r"\p{L}")).is_match("x"));
    }

    #[test]
    fn base64_decodes_as_cpython() {
        // Each case was run through CPython 3.11's base64.b64decode.
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("YQ", None),
            ("YQ=", None),
            ("YQ==", Some(b"a")),
            ("Y=Q=", None),
            ("YQ==YQ==", Some(b"a")),
            ("Y", None),
            ("YWJj=", Some(b"abc")),
            ("=YWJj", Some(b"abc")),
            ("YW=Jj", Some(b"abc")),
            ("YWJjZA=x", None),
            ("YQ=x=", Some(b"a\x0c")),
            ("YWJ=jZA", Some(b"ab")),
        ];
        for (s, want) in cases {
            assert_eq!(a2b_base64(s.as_bytes()).as_deref(), *want, "{s}");
        }
    }

    #[test]
    fn json_is_pythons() {
        for ok in [
            "{}",
            " [1, -2.5e3, NaN, -Infinity] ",
            "\"\\ud800\"",
            "0",
            "{\"a\":null}",
        ] {
            assert!(py_json_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "01",
            "1.",
            "[1,]",
            "{\"a\"}",
            "\"a\u{1}\"",
            "nul",
            "-",
            "1e",
        ] {
            assert!(!py_json_valid(bad), "{bad}");
        }
    }

    #[test]
    fn entropy_matches_detect_secrets() {
        // Values from detect-secrets 1.4.0's calculate_shannon_entropy.
        let b64 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/\\-_=";
        assert!((entropy("aaaa", b64, false) - 0.0).abs() < 1e-12);
        assert!((entropy("ab", b64, false) - 1.0).abs() < 1e-12);
        let hex = "0123456789abcdefABCDEF";
        // All digits: 2 bits minus 1.2 / log2(4).
        assert!((entropy("0123", hex, true) - (2.0 - 0.6)).abs() < 1e-12);
    }
}
