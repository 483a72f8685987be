rampart::api!("tests/ui/specs/nope.yaml");

fn main() {}
