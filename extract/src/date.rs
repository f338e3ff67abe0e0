//! Timestamps in dolma's format (`2024-04-25T16:24:44.000Z`) from WARC dates
//! (`2024-04-25T16:24:44Z`, ISO 8601) and HTTP dates (`Thu, 25 Apr 2024 16:24:44 GMT`).

/// Parses a WARC or HTTP date into dolma's timestamp format; `None` when unparseable.
pub fn to_dolma(s: &str) -> Option<String> {
    let s = s.trim();
    let (y, mo, d, h, mi, se, frac) = iso(s).or_else(|| http(s))?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}.{frac:03}Z"
    ))
}

type Parts = (u32, u32, u32, u32, u32, u32, u32);

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn iso(s: &str) -> Option<Parts> {
    let (date, time) = s.split_once(['T', ' '])?;
    let mut dp = date.split('-');
    let y = num(dp.next()?)?;
    let mo = num(dp.next()?)?;
    let d = num(dp.next()?)?;
    let time = time.trim_end_matches('Z');
    let time = time.split(['+']).next()?;
    let mut tp = time.split(':');
    let h = num(tp.next()?)?;
    let mi = num(tp.next()?)?;
    let sec = tp.next().unwrap_or("0");
    let (se, frac) = match sec.split_once('.') {
        Some((a, b)) => {
            let ms: String = b.chars().chain("000".chars()).take(3).collect();
            (num(a)?, num(&ms)?)
        }
        None => (num(sec)?, 0),
    };
    Some((y, mo, d, h, mi, se, frac))
}

fn http(s: &str) -> Option<Parts> {
    // "Thu, 25 Apr 2024 16:24:44 GMT" (also without the weekday).
    let s = s.split_once(',').map_or(s, |(_, r)| r).trim();
    let mut p = s.split_whitespace();
    let d = num(p.next()?)?;
    let mon = p.next()?.to_ascii_lowercase();
    const M: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let mo = M.iter().position(|m| mon.starts_with(m))? as u32 + 1;
    let mut y = num(p.next()?)?;
    if y < 100 {
        y += if y < 70 { 2000 } else { 1900 };
    }
    let mut tp = p.next()?.split(':');
    let h = num(tp.next()?)?;
    let mi = num(tp.next()?)?;
    let se = num(tp.next().unwrap_or("0"))?;
    Some((y, mo, d, h, mi, se, 0))
}

#[cfg(test)]
mod tests {
    use super::to_dolma;

    #[test]
    fn formats() {
        assert_eq!(
            to_dolma("2024-04-25T16:24:44Z").unwrap(),
            "2024-04-25T16:24:44.000Z"
        );
        assert_eq!(
            to_dolma("Thu, 25 Apr 2024 16:24:44 GMT").unwrap(),
            "2024-04-25T16:24:44.000Z"
        );
        assert_eq!(
            to_dolma("2023-04-20T12:00:00.123456Z").unwrap(),
            "2023-04-20T12:00:00.123Z"
        );
        assert!(to_dolma("yesterday").is_none());
    }
}
