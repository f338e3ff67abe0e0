//! Fuzzes the WARC reader (plain and gzip), then charset detection and HTML extraction on
//! every record body it yields. Must never panic, hang or grow memory with the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loam_extract::warc::{Item, WarcReader};
use loam_extract::{charset, dom, text, Mode};

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = WarcReader::new(data, 1 << 16) else {
        return;
    };
    let mut n = 0;
    while let Some(item) = r.next_item() {
        n += 1;
        assert!(n <= data.len() + 1, "more items than input bytes");
        if let Ok(Item::Record(rec)) = item {
            assert!(rec.body.len() as u64 <= rec.content_length);
            if let Ok(d) = charset::decode(&rec.body, rec.header("Content-Type")) {
                if let Ok(dom) = dom::parse(&d.text) {
                    let _ = text::extract(&dom, Mode::Main);
                    let _ = text::extract(&dom, Mode::Full);
                }
            }
        }
    }
});
