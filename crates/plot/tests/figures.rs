//! Figures are produced, decode, and carry their text. Set `GDSCOPE_PLOT_KEEP=DIR` to
//! keep the rendered files for viewing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use gdscope_plot::{
    render_png, render_svg, save, CategoryMap, CategoryStrips, ContourPlot, Figure, Format,
    LinePlot, RefLine, Series, SeriesKind, PANEL_SIZE,
};

fn out_dir(tmp: &tempfile::TempDir) -> PathBuf {
    match std::env::var_os("GDSCOPE_PLOT_KEEP") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            PathBuf::from(d)
        }
        None => tmp.path().to_path_buf(),
    }
}

/// Decodes a PNG file; returns (width, height, RGB bytes).
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// The text of every `<text>` element of an SVG.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

fn has_colour(rgb: &[u8], c: [u8; 3]) -> bool {
    rgb.chunks_exact(3).any(|p| p == c)
}

fn sharpness_plot() -> LinePlot {
    let steps: Vec<f64> = (0..200).map(f64::from).collect();
    let sharp: Vec<f64> = steps
        .iter()
        .map(|&t| {
            if t == 50.0 {
                f64::NAN
            } else {
                20.0 * (1.0 - (-t / 40.0).exp()) + (t / 3.0).sin()
            }
        })
        .collect();
    let loss: Vec<f64> = steps.iter().map(|&t| (-t / 30.0).exp()).collect();
    LinePlot {
        title: "Sharpness vs step (η = 0.1)".into(),
        x_label: "step".into(),
        y_label: "λ_max".into(),
        series: vec![
            Series {
                label: "sharpness".into(),
                x: steps.clone(),
                y: sharp,
                ..Default::default()
            },
            Series {
                label: "loss".into(),
                x: steps,
                y: loss,
                kind: SeriesKind::LinePoints,
                color: Some(2),
            },
        ],
        hlines: vec![RefLine {
            value: 20.0,
            label: "2/η = 20".into(),
        }],
        vlines: vec![RefLine {
            value: 120.0,
            label: String::new(),
        }],
        ..Default::default()
    }
}

#[test]
fn line_plot_png_and_svg() {
    let tmp = tempfile::tempdir().unwrap();
    let stem = out_dir(&tmp).join("sharpness");
    let files = save(&sharpness_plot().into(), &stem, &[Format::Png, Format::Svg]).unwrap();
    assert_eq!(
        files,
        [stem.with_extension("png"), stem.with_extension("svg")]
    );
    let (w, h, rgb) = decode(&files[0]);
    assert_eq!((w, h), PANEL_SIZE);
    assert!(
        has_colour(&rgb, [31, 119, 180]),
        "first series in palette blue"
    );
    assert!(
        has_colour(&rgb, [178, 24, 43]),
        "reference line in dark red"
    );
    assert!(
        has_colour(&rgb, [0, 0, 0]) || rgb.chunks_exact(3).any(|p| p[0] < 60),
        "text drawn"
    );
    let svg = std::fs::read_to_string(&files[1]).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("Sharpness vs step (η = 0.1)"));
    assert!(svg.contains("2/η = 20"));
}

#[test]
fn log_axes_with_zeros_negatives_and_nan_do_not_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = out_dir(&tmp);
    let x: Vec<f64> = (0..100).map(f64::from).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|&t| {
            if t as u32 % 7 == 0 {
                0.0
            } else {
                10f64.powf(-t / 10.0)
            }
        })
        .collect();
    let mut plot = LinePlot {
        title: "angle to prediction".into(),
        x_label: "step".into(),
        y_label: "angle (deg)".into(),
        log_x: true,
        log_y: true,
        series: vec![Series {
            label: "angle".into(),
            x: x.clone(),
            y,
            ..Default::default()
        }],
        hlines: vec![RefLine {
            value: -1.0,
            label: "invisible on log".into(),
        }],
        ..Default::default()
    };
    save(&plot.clone().into(), &dir.join("log"), &[Format::Png]).unwrap();
    // Nothing positive at all, and an empty plot: still a figure.
    plot.series[0].y = vec![0.0; 100];
    save(&plot.clone().into(), &dir.join("log-zero"), &[Format::Png]).unwrap();
    plot.series.clear();
    save(&plot.into(), &dir.join("empty"), &[Format::Svg]).unwrap();
}

fn circle_contour() -> ContourPlot {
    let n = 81;
    let (lo, hi) = (-2.0, 2.0);
    let mut values = Vec::with_capacity(n * n);
    for j in 0..n {
        for i in 0..n {
            let x = lo + (hi - lo) * i as f64 / (n - 1) as f64;
            let y = lo + (hi - lo) * j as f64 / (n - 1) as f64;
            values.push(0.5 * x * x + 2.0 * y * y);
        }
    }
    // GD on 0.5x² + 2y² with η = 0.45: x contracts, y alternates.
    let (mut x, mut y) = (1.8, 1.2);
    let (mut px, mut py) = (vec![x], vec![y]);
    for _ in 0..30 {
        x -= 0.45 * x;
        y -= 0.45 * 4.0 * y;
        px.push(x);
        py.push(y);
    }
    ContourPlot {
        title: "GD on 0.5x² + 2y²".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        x_range: (lo, hi),
        y_range: (lo, hi),
        nx: n,
        ny: n,
        values,
        levels: 12,
        log_levels: true,
        paths: vec![Series {
            label: "GD, η = 0.45".into(),
            x: px,
            y: py,
            kind: SeriesKind::LinePoints,
            color: Some(3),
        }],
        markers: vec![(0.0, 0.0, "x*".into())],
        value_label: "f(x, y)".into(),
        equal_aspect: false,
    }
}

#[test]
fn contour_plot_with_trajectory() {
    let tmp = tempfile::tempdir().unwrap();
    let stem = out_dir(&tmp).join("contour");
    let files = save(&circle_contour().into(), &stem, &[Format::Png, Format::Svg]).unwrap();
    let (w, h, rgb) = decode(&files[0]);
    assert_eq!((w, h), PANEL_SIZE);
    assert!(
        has_colour(&rgb, [214, 39, 40]),
        "trajectory drawn in palette red"
    );
    let svg = std::fs::read_to_string(&files[1]).unwrap();
    assert!(svg.contains("GD on 0.5x² + 2y²") && svg.contains("x*"));
    assert!(svg.len() < 3_000_000, "SVG is {} bytes", svg.len());
}

#[test]
fn large_category_map_is_quick() {
    let n = 1000;
    let mut cells = Vec::with_capacity(n * n);
    for j in 0..n {
        for i in 0..n {
            let (x, y) = (i as f64 / n as f64 - 0.5, j as f64 / n as f64 - 0.5);
            let r = (x * x + y * y).sqrt();
            cells.push(if r > 0.45 {
                0
            } else if (x * 40.0).sin() * (y * 40.0).cos() > 0.0 {
                1
            } else {
                2
            });
        }
    }
    let map = CategoryMap {
        title: "basin V_η".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        x_range: (-1.0, 1.0),
        y_range: (-1.0, 1.0),
        nx: n,
        ny: n,
        cells,
        categories: vec![
            ("diverged".into(), [200, 200, 200]),
            ("+q1".into(), [31, 119, 180]),
            ("−q1".into(), [255, 127, 14]),
        ],
        equal_aspect: true,
    };
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let files = save(&map.into(), &out_dir(&tmp).join("basin"), &[Format::Png]).unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!("1000×1000 category map to PNG in {secs:.2} s");
    assert!(secs < 20.0, "took {secs} s");
    let (_, _, rgb) = decode(&files[0]);
    for c in [[200, 200, 200], [31, 119, 180], [255, 127, 14]] {
        assert!(has_colour(&rgb, c), "{c:?}");
    }
}

/// The number in attribute `name="…"` of an SVG tag.
fn svg_attr(tag: &str, name: &str) -> Option<f64> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    tag[at..].split('"').next()?.parse().ok()
}

/// A category map's legend lists the categories that occur, beside the map: its text
/// starts right of the last painted map pixel.
#[test]
fn category_map_legend_lists_what_occurs_beside_the_map() {
    let map = CategoryMap {
        x_range: (0.0, 1.0),
        y_range: (0.0, 1.0),
        nx: 2,
        ny: 2,
        cells: vec![0, 1, 1, 0],
        categories: vec![
            ("diverged".into(), [200, 200, 200]),
            ("converged along +q1".into(), [31, 119, 180]),
            ("never occurs".into(), [255, 127, 14]),
        ],
        equal_aspect: true,
        ..Default::default()
    };
    let svg = render_svg(&map.into(), PANEL_SIZE).unwrap();
    let texts = svg_texts(&svg);
    assert!(
        texts.contains(&"converged along +q1".to_string()),
        "{texts:?}"
    );
    assert!(!texts.contains(&"never occurs".to_string()), "{texts:?}");
    // Map pixels are painted as 1-pixel-high runs.
    let map_right = svg
        .split("<rect")
        .skip(1)
        .filter(|t| svg_attr(t, "height") == Some(1.0))
        .filter_map(|t| Some(svg_attr(t, "x")? + svg_attr(t, "width")?))
        .fold(0.0, f64::max);
    let legend_left = svg
        .split("<text")
        .skip(1)
        .find(|t| t.split(['>', '<']).nth(1).map(str::trim) == Some("diverged"))
        .and_then(|t| svg_attr(t, "x"))
        .unwrap();
    assert!(map_right > 100.0, "{map_right}");
    assert!(
        legend_left > map_right,
        "legend at x = {legend_left}, map up to {map_right}"
    );
}

/// A map of one category is one flat colour: no grid lines are drawn across it (they would
/// read as structure), though the axes keep their ticks.
#[test]
fn category_map_has_no_grid_lines_over_it() {
    let green = [44, 160, 44];
    let map = CategoryMap {
        x_range: (-1.0, 1.0),
        y_range: (-1.0, 1.0),
        nx: 4,
        ny: 4,
        cells: vec![0; 16],
        categories: vec![("converged".into(), green)],
        equal_aspect: true,
        ..Default::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let files = save(&map.into(), &out_dir(&tmp).join("flat"), &[Format::Png]).unwrap();
    let (_, _, rgb) = decode(&files[0]);
    let pixels: Vec<&[u8]> = rgb.chunks_exact(3).collect();
    let flat = pixels.iter().filter(|p| **p == green).count();
    // Green tinted by a grid line: green dominant but not the category's colour.
    let tinted = pixels
        .iter()
        .filter(|p| {
            **p != green && p[1] > p[0].saturating_add(60) && p[1] > p[2].saturating_add(60)
        })
        .count();
    assert!(flat > 100_000, "{flat} map pixels");
    assert!(tinted < 50, "{tinted} pixels of grid lines over the map");
}

/// Markers are drawn on a line-and-points series while they can be told apart; a dense
/// one (an EoS projection oscillating every step) is drawn as a line alone.
#[test]
fn dense_line_points_drop_their_markers() {
    let circles = |n: usize| {
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|i| if *i as usize % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let plot = LinePlot {
            series: vec![Series {
                x,
                y,
                kind: SeriesKind::LinePoints,
                ..Default::default()
            }],
            ..Default::default()
        };
        render_svg(&plot.into(), PANEL_SIZE)
            .unwrap()
            .matches("<circle")
            .count()
    };
    assert_eq!(circles(50), 50);
    assert_eq!(circles(1000), 0);
}

#[test]
fn grid_of_panels() {
    let fig = Figure::Grid {
        cols: 2,
        panels: vec![
            sharpness_plot().into(),
            circle_contour().into(),
            sharpness_plot().into(),
        ],
    };
    let png = render_png(&fig, (300, 200)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let p = out_dir(&tmp).join("grid.png");
    std::fs::write(&p, png).unwrap();
    assert_eq!(decode(&p).0, 600);
    assert_eq!(decode(&p).1, 400);
    let svg = render_svg(&fig, (300, 200)).unwrap();
    assert!(svg.contains("width=\"600\"") && svg.contains("height=\"400\""));
}

#[test]
fn bad_figures_are_errors() {
    let mut p = sharpness_plot();
    p.series[0].y.pop();
    let e = format!("{:#}", render_svg(&p.into(), PANEL_SIZE).unwrap_err());
    assert!(e.contains("x values but"), "{e}");

    let mut c = circle_contour();
    c.values.pop();
    assert!(render_png(&c.clone().into(), PANEL_SIZE).is_err());
    c.nx = 1;
    assert!(render_png(&c.into(), PANEL_SIZE).is_err());

    let map = CategoryMap {
        x_range: (0.0, 1.0),
        y_range: (0.0, 1.0),
        nx: 2,
        ny: 1,
        cells: vec![0, 3],
        categories: vec![("a".into(), [0, 0, 0])],
        ..Default::default()
    };
    let e = format!("{:#}", render_png(&map.into(), PANEL_SIZE).unwrap_err());
    assert!(e.contains("category 3"), "{e}");

    let e = render_png(
        &Figure::Grid {
            cols: 0,
            panels: vec![],
        },
        PANEL_SIZE,
    )
    .unwrap_err();
    assert!(e.to_string().contains("at least one column"));
    let nested = Figure::Grid {
        cols: 1,
        panels: vec![Figure::Grid {
            cols: 1,
            panels: vec![],
        }],
    };
    assert!(render_png(&nested, PANEL_SIZE).is_err());

    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no/such/dir/fig");
    assert!(save(&sharpness_plot().into(), &missing, &[Format::Png]).is_err());
}

/// Tick labels of a log axis spanning 1e-12 … 1e2 read 10⁻¹², 10⁻⁸, …: none is rounded to
/// "0" (a log axis has no zero), and all share one notation (no "1e-8" next to "0.01").
#[test]
fn log_axis_ticks_keep_small_powers_of_ten() {
    // Both axes logarithmic, so no tick anywhere may read 0.
    let x: Vec<f64> = (1..=200).map(f64::from).collect();
    let y: Vec<f64> = x.iter().map(|t| 100.0 * 10f64.powf(-t / 14.0)).collect();
    let plot = LinePlot {
        title: "angle".into(),
        log_x: true,
        log_y: true,
        series: vec![Series {
            x,
            y,
            ..Default::default()
        }],
        ..Default::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    save(
        &plot.clone().into(),
        &out_dir(&tmp).join("log-ticks"),
        &[Format::Png],
    )
    .unwrap();
    let texts = svg_texts(&render_svg(&plot.into(), PANEL_SIZE).unwrap());
    assert!(
        texts
            .iter()
            .any(|t| ["10⁻¹⁰", "10⁻¹¹", "10⁻¹²"].contains(&t.as_str())),
        "small ticks missing: {texts:?}"
    );
    assert!(texts.iter().any(|t| t == "10⁰"), "{texts:?}");
    assert!(
        !texts
            .iter()
            .any(|t| t == "0" || t.contains("e-") || t == "0.01"),
        "a log-axis tick reads 0 or mixes notations: {texts:?}"
    );
}

/// A fixed y range clips the data to it and sets the ticks (e.g. floor of a density).
#[test]
fn fixed_y_range() {
    let x: Vec<f64> = (0..100).map(f64::from).collect();
    let y: Vec<f64> = x.iter().map(|t| 10f64.powf(-t)).collect();
    let plot = LinePlot {
        log_y: true,
        y_range: Some((1e-6, 10.0)),
        series: vec![Series {
            x,
            y,
            ..Default::default()
        }],
        ..Default::default()
    };
    let texts = svg_texts(&render_svg(&plot.clone().into(), PANEL_SIZE).unwrap());
    assert!(texts.iter().any(|t| t == "10⁻⁶"), "{texts:?}");
    assert!(
        !texts.iter().any(|t| t == "10⁻⁵⁰" || t == "10⁻⁷"),
        "{texts:?}"
    );
    let bad = LinePlot {
        y_range: Some((0.0, 1.0)),
        ..plot
    };
    assert!(render_png(&bad.into(), PANEL_SIZE).is_err());
}

/// The bounding box of the pixels in the band colours of a contour plot.
fn painted_box(rgb: &[u8], w: u32) -> (u32, u32, u32, u32) {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (i, p) in rgb.chunks_exact(3).enumerate() {
        // Lightened viridis: strongly coloured, not grey.
        let (mx, mn) = (p.iter().max().unwrap(), p.iter().min().unwrap());
        if mx - mn > 60 {
            let (x, y) = (i as u32 % w, i as u32 / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    (x0, y0, x1, y1)
}

/// Contour plots have a colour bar with the field's description, and with `equal_aspect`
/// one unit of x is as long as one unit of y.
#[test]
fn contour_colour_bar_and_equal_aspect() {
    let mut c = circle_contour();
    let svg = render_svg(&c.clone().into(), PANEL_SIZE).unwrap();
    assert!(svg.contains("f(x, y)"), "colour bar label");
    // A 4 × 2 box drawn with equal scales is twice as wide as high.
    c.y_range = (-1.0, 1.0);
    c.paths.clear();
    c.equal_aspect = true;
    let tmp = tempfile::tempdir().unwrap();
    let files = save(
        &c.into(),
        &out_dir(&tmp).join("contour-equal"),
        &[Format::Png],
    )
    .unwrap();
    let (w, _, rgb) = decode(&files[0]);
    // Only the plot box (left of the colour bar strip) counts.
    let plot_part: Vec<u8> = rgb
        .chunks_exact(3 * w as usize)
        .flat_map(|row| row[..3 * (w as usize - 120)].to_vec())
        .collect();
    let (x0, y0, x1, y1) = painted_box(&plot_part, w - 120);
    let ratio = f64::from(x1 - x0 + 1) / f64::from(y1 - y0 + 1);
    assert!(
        (ratio - 2.0).abs() < 0.05,
        "box {x0},{y0}–{x1},{y1}: ratio {ratio}"
    );
}

/// Regimes against η as coloured strips with a legend of the categories that occur.
#[test]
fn category_strips() {
    let x: Vec<f64> = (1..=20).map(|k| f64::from(k) * 0.01).collect();
    let regime = |v: f64| u8::from(v > 0.09) + u8::from(v > 0.15);
    let strips = CategoryStrips {
        title: "regimes vs η".into(),
        x_label: "learning rate η".into(),
        log_x: false,
        rows: vec![
            ("predicted".into(), x.iter().map(|&v| regime(v)).collect()),
            (
                "observed".into(),
                x.iter().map(|&v| regime(v + 0.005)).collect(),
            ),
        ],
        x: x.clone(),
        categories: vec![
            ("fixed".into(), [31, 119, 180]),
            ("alternating".into(), [44, 160, 44]),
            ("diverged".into(), [214, 39, 40]),
            ("unused".into(), [1, 2, 3]),
        ],
        vlines: vec![RefLine {
            value: 0.09,
            label: "2/(λ1+λn)".into(),
        }],
    };
    let tmp = tempfile::tempdir().unwrap();
    let files = save(
        &strips.clone().into(),
        &out_dir(&tmp).join("strips"),
        &[Format::Png, Format::Svg],
    )
    .unwrap();
    let (_, _, rgb) = decode(&files[0]);
    for c in [[31, 119, 180], [44, 160, 44], [214, 39, 40]] {
        assert!(has_colour(&rgb, c), "{c:?}");
    }
    let svg = std::fs::read_to_string(&files[1]).unwrap();
    for text in [
        "predicted",
        "observed",
        "fixed",
        "alternating",
        "2/(λ1+λn) = 0.09",
    ] {
        assert!(svg.contains(text), "{text}");
    }
    assert!(
        !svg.contains("unused"),
        "legend lists only categories that occur"
    );
    let log = CategoryStrips {
        log_x: true,
        ..strips.clone()
    };
    save(
        &log.into(),
        &out_dir(&tmp).join("strips-log"),
        &[Format::Png],
    )
    .unwrap();
    let mut bad = strips;
    bad.rows[0].1.pop();
    assert!(render_png(&bad.into(), PANEL_SIZE).is_err());
}

/// A dashed series is drawn in its own colour, in dashes: along its row some pixels have the
/// colour and some between them do not.
#[test]
fn dashed_series_in_its_colour() {
    let x: Vec<f64> = (0..=10).map(f64::from).collect();
    let plot = LinePlot {
        series: vec![
            Series {
                label: "threshold".into(),
                x: x.clone(),
                y: vec![1.0; x.len()],
                kind: SeriesKind::Dashed,
                color: Some(1),
            },
            Series {
                label: String::new(),
                x: x.clone(),
                y: x.iter().map(|v| v * 0.2).collect(),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let stem = out_dir(&tmp).join("dashed");
    let files = save(&plot.into(), &stem, &[Format::Png]).unwrap();
    let (w, _, rgb) = decode(&files[0]);
    let gaps = gaps_per_row(&rgb, w, [255, 127, 14])
        .into_iter()
        .max()
        .unwrap();
    assert!(gaps >= 10, "a dashed line has many gaps, found {gaps}");
}

/// For each image row holding more than 100 pixels of `colour` (a line across the chart),
/// the number of gaps between its first and last such pixel, top to bottom.
fn gaps_per_row(rgb: &[u8], w: u32, colour: [u8; 3]) -> Vec<usize> {
    rgb.chunks_exact(3 * w as usize)
        .filter_map(|row| {
            let on: Vec<bool> = row.chunks_exact(3).map(|p| p == colour).collect();
            (on.iter().filter(|b| **b).count() > 100).then(|| {
                let first = on.iter().position(|&b| b).unwrap();
                let last = on.iter().rposition(|&b| b).unwrap();
                on[first..last].windows(2).filter(|p| p[0] && !p[1]).count()
            })
        })
        .collect()
}

/// Past ten series the palette repeats; the repeated colours are drawn dashed, so series 0
/// (solid blue) and series 10 (dashed blue) still read apart.
#[test]
fn series_past_the_palette_are_dashed() {
    let x: Vec<f64> = (0..=10).map(f64::from).collect();
    let series = (0..12)
        .map(|k| Series {
            x: x.clone(),
            y: vec![f64::from(k); x.len()],
            ..Default::default()
        })
        .collect();
    let plot = LinePlot {
        series,
        ..Default::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let files = save(&plot.into(), &out_dir(&tmp).join("twelve"), &[Format::Png]).unwrap();
    let (w, _, rgb) = decode(&files[0]);
    let blue = [31, 119, 180];
    let gaps = gaps_per_row(&rgb, w, blue);
    assert!(gaps.contains(&0), "series 0 is solid: {gaps:?}");
    assert!(
        gaps.iter().any(|g| *g >= 10),
        "series 10 is dashed: {gaps:?}"
    );
}
