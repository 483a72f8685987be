/// A spec path that names no file.
static API: std::sync::LazyLock<rampart::ApiDescriptor> = std::sync::LazyLock::new(|| rampart::descriptor!("tests/ui/specs/nope.yaml"));

fn main() {}
