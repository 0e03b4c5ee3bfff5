//! The test cases of a set of scenario files: one per file and seed, named
//! by the file's path under the folder it was found in.

use std::path::{Path, PathBuf};

use rollout_scenario::{Scenario, collect_files, load_file};

/// One test case: a scenario file with one of its seeds.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its test name: the path under its folder, without the extension,
    /// `/`-separated, with `/seed-N` for a seed of a `seeds:` list.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The seed to run, when the file lists several; `None` runs the
    /// file's own seed.
    pub seed: Option<u64>,
    /// The file, loaded; `Err` holds the located error, one problem a line.
    pub scenario: Result<Scenario, String>,
}

/// The name of `path` under `root`: `regression/processing-failure` for
/// `scenarios/regression/processing-failure.yaml` under `scenarios`.
fn name_under(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let stem = relative.with_extension("");
    stem.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The cases of the files under each of `roots` (a folder, walked
/// recursively, or a file), in order; the problems of a folder that cannot
/// be read come back as `Err`, naming it.
pub fn collect_cases(roots: &[PathBuf]) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for root in roots {
        let files = collect_files(std::slice::from_ref(root)).map_err(|e| e.to_string())?;
        // A file given as is is named by its own stem.
        let base = if root.is_dir() {
            root.clone()
        } else {
            root.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        for path in files {
            let name = name_under(&base, &path);
            match load_file(&path) {
                Ok(scenario) if scenario.seeds.len() > 1 => {
                    for &seed in &scenario.seeds {
                        cases.push(Case {
                            name: format!("{name}/seed-{seed}"),
                            path: path.clone(),
                            seed: Some(seed),
                            scenario: Ok(scenario.clone()),
                        });
                    }
                }
                Ok(scenario) => cases.push(Case {
                    name,
                    path,
                    seed: None,
                    scenario: Ok(scenario),
                }),
                Err(e) => cases.push(Case {
                    name,
                    path,
                    seed: None,
                    scenario: Err(e.plain()),
                }),
            }
        }
    }
    Ok(cases)
}
