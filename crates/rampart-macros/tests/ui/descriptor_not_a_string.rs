/// `descriptor!` takes the spec's path as a string literal.
static API: std::sync::LazyLock<rampart::ApiDescriptor> = std::sync::LazyLock::new(|| rampart::descriptor!(specs::petstore));

fn main() {}
