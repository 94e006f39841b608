//! Both pictures, drawn from a synthetic run of every scenario and every engine, parsed and
//! rasterized with resvg: a broken SVG fails `cargo test`, and so does a scenario missing from
//! a picture. The data is made up (no copy runs), so the test is fast and its figures mean
//! nothing; it goes through the same conversions as a real run (`report::bars`,
//! `sweep::chart`), so a row added to `SCENARIOS` is checked with no change here.

use std::time::Duration;

use resvg::tiny_skia::Pixmap;
use resvg::usvg::{self, Node};

use super::cli::{self, Options, Parsed};
use super::engine::Engine;
use super::host::Meta;
use super::meter::Sample;
use super::report::{self, Measured};
use super::scenario::{Workload, SCENARIOS};
use super::sweep::{self, Point, Row};

fn options(args: &[&str]) -> Options {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    match cli::parse(&args).expect("options") {
        Parsed::Run(o) => o,
        Parsed::Help => unreachable!(),
    }
}

/// A sample of `ms` milliseconds of CPU, a third of it user time.
fn sample(ms: f64) -> Sample {
    let cpu = Duration::from_secs_f64(ms / 1e3);
    Sample {
        user: cpu / 3,
        sys: cpu - cpu / 3,
        wall: cpu * 2,
    }
}

/// Made-up CPU times: every engine differs, fdcopy cheaper than std at large sizes.
fn fake_ms(engine: Engine, bytes: u64, k: usize) -> f64 {
    let mib = bytes as f64 / (1 << 20) as f64;
    let per_mib = match engine {
        Engine::Fdcopy => 0.12,
        Engine::Std => 0.4,
        Engine::Buf8k => 0.45,
        Engine::Buf64k => 0.3,
        Engine::Buf1m => 0.28,
        Engine::Kernel => 0.1,
    };
    mib * per_mib * (1.0 + 0.01 * k as f64) + 0.05
}

fn meta() -> Meta {
    Meta {
        machine: "Linux test x86_64, 2 CPUs".into(),
        date: "2026-12-01".into(),
        command: "cargo test".into(),
        seconds: 1.0,
    }
}

/// The SVG parsed with the system's fonts; every text it holds; its raster.
pub(crate) fn render(svg: &str) -> (Vec<String>, Pixmap) {
    let mut opt = usvg::Options::default();
    let db = opt.fontdb_mut();
    db.load_system_fonts();
    // The pictures ask for the generic `sans-serif`: give it a family this machine has.
    let families: Vec<String> = db
        .faces()
        .flat_map(|f| f.families.iter().map(|(n, _)| n.clone()))
        .collect();
    let sans = families
        .iter()
        .find(|f| f.as_str() == "DejaVu Sans")
        .or(families.first())
        .expect("no font found: the render test needs one to lay out the labels (Debian: fonts-dejavu-core)")
        .clone();
    db.set_sans_serif_family(sans);
    let tree = usvg::Tree::from_str(svg, &opt).expect("the SVG parses");
    let size = tree.size().to_int_size();
    assert!(size.width() >= 600 && size.height() >= 300, "{size:?}");
    let mut pixmap = Pixmap::new(size.width(), size.height()).expect("a pixmap");
    resvg::render(&tree, usvg::Transform::default(), &mut pixmap.as_mut());
    let mut texts = Vec::new();
    collect_text(tree.root(), &mut texts);
    (texts, pixmap)
}

fn collect_text(group: &usvg::Group, out: &mut Vec<String>) {
    for node in group.children() {
        match node {
            Node::Group(g) => collect_text(g, out),
            Node::Text(t) => {
                assert!(
                    t.flattened().has_children(),
                    "text laid out into glyphs: {:?}",
                    t.chunks()[0].text()
                );
                out.push(t.chunks().iter().map(|c| c.text()).collect());
            }
            _ => {}
        }
    }
}

/// Distinct colours among the pixels: a blank or one-colour picture has few.
pub(crate) fn colours(p: &Pixmap) -> usize {
    let mut seen: Vec<[u8; 4]> = p
        .pixels()
        .iter()
        .map(|c| [c.red(), c.green(), c.blue(), c.alpha()])
        .collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

fn assert_names(texts: &[String], names: &[&str], what: &str) {
    for name in names {
        assert!(
            texts.iter().any(|t| t == name || t.starts_with(&format!("{name}:"))),
            "{what}: {name} is not in the picture; texts: {texts:?}"
        );
    }
}

#[test]
fn the_bar_chart_renders_with_every_scenario_and_engine() {
    let opts = options(&["--quick", "--engine", "fdcopy,std,buf8k,buf64k,buf1m,kernel"]);
    let results: Vec<Measured> = opts
        .workloads
        .iter()
        .map(|&w: &Workload| {
            let job = w.job(opts.size, 1);
            if let Some(why) = w.scenario().no_small.filter(|_| w.variant == super::Variant::Small) {
                return Measured {
                    workload: w,
                    job,
                    engines: Vec::new(),
                    skipped: Some(why),
                };
            }
            let engines = opts
                .engines
                .iter()
                .map(|&e| (e, (0..3).map(|k| sample(fake_ms(e, job.copied(), k))).collect()))
                .collect();
            Measured {
                workload: w,
                job,
                engines,
                skipped: None,
            }
        })
        .collect();
    let bars = report::bars(&results, &opts, meta().caption("synthetic"));
    assert_eq!(bars.panels.len(), 2, "bulk and 4 KiB");
    let svg = super::chart::bars_svg(&bars).expect("drawn");
    let (texts, pixmap) = render(&svg);
    let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
    assert_names(&texts, &names, "bars");
    let engines: Vec<&str> = opts.engines.iter().map(|e| e.name()).collect();
    assert_names(&texts, &engines, "bars legend");
    assert!(
        texts.iter().any(|t| t.contains("2026-12-01")),
        "the date is in the caption"
    );
    assert!(colours(&pixmap) > 20, "the picture has bars in colour");
}

#[test]
fn the_sweep_renders_with_every_scenario() {
    let opts = options(&["--sweep", "--quick", "--sizes", "4K,64K,1M"]);
    let rows: Vec<Row> = sweep::scenarios(&opts)
        .into_iter()
        .map(|s| {
            let sc = &SCENARIOS[s];
            if let Some(why) = sc.no_small {
                return Row {
                    scenario: s,
                    points: Vec::new(),
                    skipped: Some(why),
                };
            }
            let points = opts
                .sizes
                .iter()
                .map(|&len| {
                    let job = super::scenario::Job::copies_of((1 << 20) / len, len, sc.limited, 1);
                    let engines = opts
                        .engines
                        .iter()
                        .map(|&e| {
                            (
                                e,
                                (0..3)
                                    .map(|k| sample(fake_ms(e, job.copied(), k) * len.ilog2() as f64))
                                    .collect(),
                            )
                        })
                        .collect();
                    Point { len, job, engines }
                })
                .collect();
            Row {
                scenario: s,
                points,
                skipped: None,
            }
        })
        .collect();
    let picture = sweep::chart(&rows, &opts, &meta());
    assert_eq!(picture.panels.len(), SCENARIOS.len());
    let svg = super::chart::sweep_svg(&picture).expect("drawn");
    let (texts, pixmap) = render(&svg);
    let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
    assert_names(&texts, &names, "sweep");
    for label in ["4K", "64K", "1M"] {
        assert!(texts.iter().any(|t| t == label), "size {label} on an axis");
    }
    assert!(colours(&pixmap) > 20, "the picture has lines in colour");
    // The text report names every scenario too.
    let table = sweep::table(&rows, &opts, 1.0);
    for name in names {
        assert!(table.contains(name), "{name} in the sweep's table");
    }
}
