//! The generic CSV import with its column map: the input up to the first NUL byte is the map
//! (TOML, as a person writes it), the rest the CSV file. Inputs whose map does not parse still
//! go through the delimited-text reader with the usual delimiters.
#![no_main]
use keel_domain::import::{generic, ImportSet};
use libfuzzer_sys::fuzz_target;

const MAP: &str = "key = \"Key\"\ntitle = \"Title\"\ndescription = \"Body\"\nkind = \"Type\"\nstatus = \"State\"\npoints = \"Points\"\nlabels = \"Tags\"\n";

fuzz_target!(|data: &[u8]| {
    let (map_bytes, csv) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        // No map given: the usual one, so every input reaches the row reader.
        None => (MAP.as_bytes(), data),
    };
    if let Ok(text) = std::str::from_utf8(csv) {
        for d in [b',', b';', b'\t', b'|'] {
            let _ = generic::parse_delimited(text, d);
        }
    }
    let Ok(map_text) = std::str::from_utf8(map_bytes) else { return };
    let Ok(map) = toml::from_str::<generic::ColumnMap>(map_text) else { return };
    if map.delimiter_byte().is_err() {
        return;
    }
    let mut set = ImportSet::default();
    generic::read_generic("items.csv", csv, &map, &mut set);
    let _ = set.has_problems();
    set.finish();
});
