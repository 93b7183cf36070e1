//! Property tests: tables through Parquet and arrays through NPY/NPZ come back bit for bit.

use gdscope_io::npy::{npy_bytes, npz_bytes, parse_npy, parse_npz, NdArray};
use gdscope_io::{read_parquet, write_parquet, Column, Table};
use proptest::prelude::*;

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-0.0),
        -1e3..1e3f64,
    ]
}

fn table(rows: usize) -> impl Strategy<Value = Table> {
    (
        prop::collection::vec(any_f64(), rows),
        prop::collection::vec(any::<i64>(), rows),
        prop::collection::vec(".{0,8}", rows),
        prop::collection::vec(any::<bool>(), rows),
    )
        .prop_map(|(f, i, s, b)| {
            let mut t = Table::new();
            t.push_f64("loss", f).unwrap();
            t.push_i64("step", i).unwrap();
            t.push_str("status", s).unwrap();
            t.push_bool("stable", b).unwrap();
            t
        })
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn parquet_round_trip(t in (0usize..60).prop_flat_map(table)) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.parquet");
        write_parquet(&p, &t).unwrap();
        let back = read_parquet(&p).unwrap();
        prop_assert_eq!(back.names().collect::<Vec<_>>(), t.names().collect::<Vec<_>>());
        prop_assert_eq!(back.nrows(), t.nrows());
        prop_assert!(same_bits(back.f64_column("loss").unwrap(), t.f64_column("loss").unwrap()));
        for name in ["step", "status", "stable"] {
            prop_assert_eq!(back.column(name), t.column(name));
        }
    }

    #[test]
    fn npy_round_trip(shape in prop::collection::vec(0usize..5, 0..4), seed in any::<u64>()) {
        let n: usize = shape.iter().product();
        let data: Vec<f64> = (0..n as u64)
            .map(|k| f64::from_bits(seed.wrapping_mul(k.wrapping_add(0x9E37_79B9_7F4A_7C15)) >> 2))
            .collect();
        let a = NdArray::from_f64(shape, data).unwrap();
        let back = parse_npy(&npy_bytes(&a).unwrap()).unwrap();
        prop_assert_eq!(&back.shape, &a.shape);
        prop_assert_eq!(&back.dtype, "float64");
        prop_assert!(same_bits(&back.data, &a.data));
        let z = parse_npz(&npz_bytes(&[("w", &a), ("u", &back)]).unwrap()).unwrap();
        prop_assert!(same_bits(&z["w"].data, &a.data) && same_bits(&z["u"].data, &a.data));
    }
}

#[test]
fn table_without_columns_is_refused_and_empty_tables_work() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("e.parquet");
    let e = write_parquet(&p, &Table::new()).unwrap_err().to_string();
    assert!(e.contains("without columns"), "{e}");
    let mut t = Table::new();
    t.push_f64("x", vec![]).unwrap();
    write_parquet(&p, &t).unwrap();
    let back = read_parquet(&p).unwrap();
    assert_eq!(back.column("x"), Some(&Column::F64(vec![])));
}

#[test]
fn bad_parquet_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.parquet");
    std::fs::write(&p, b"this is not parquet at all").unwrap();
    let e = format!("{:#}", read_parquet(&p).unwrap_err());
    assert!(e.contains("bad.parquet"), "{e}");
    let e = format!(
        "{:#}",
        read_parquet(&dir.path().join("missing.parquet")).unwrap_err()
    );
    assert!(
        e.contains("cannot open") && e.contains("missing.parquet"),
        "{e}"
    );

    let mut t = Table::new();
    t.push_f64("x", (0..1000).map(f64::from).collect()).unwrap();
    write_parquet(&p, &t).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    assert!(
        read_parquet(&p).is_err(),
        "a truncated file must be refused"
    );
}

#[test]
fn npy_files_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.npy");
    gdscope_io::npy::write_npy(&p, &[2, 2], &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let a = gdscope_io::npy::read_npy(&p).unwrap();
    assert_eq!(
        (a.shape.as_slice(), a.data.as_slice()),
        (&[2, 2][..], &[1.0, 2.0, 3.0, 4.0][..])
    );
    assert!(gdscope_io::npy::write_npy(&p, &[3], &[1.0]).is_err());
    std::fs::write(&p, b"\x93NUMPY\x01\x00").unwrap();
    let e = format!("{:#}", gdscope_io::npy::read_npy(&p).unwrap_err());
    assert!(e.contains("w.npy") && e.contains("truncated"), "{e}");
    let z = dir.path().join("d.npz");
    let x = NdArray::from_f64(vec![3, 1], vec![0.5, 1.5, 2.5]).unwrap();
    let y = NdArray::from_f64(vec![3], vec![0.0, 1.0, 0.0])
        .unwrap()
        .with_dtype("int64")
        .unwrap();
    gdscope_io::npy::write_npz(&z, &[("x", &x), ("y", &y)]).unwrap();
    let back = gdscope_io::npy::read_npz(&z).unwrap();
    assert_eq!(back["x"], x);
    assert_eq!(back["y"], y);
    std::fs::write(&z, b"PK\x03\x04 broken").unwrap();
    let e = format!("{:#}", gdscope_io::npy::read_npz(&z).unwrap_err());
    assert!(e.contains("d.npz") && e.contains("not an .npz file"), "{e}");
}
