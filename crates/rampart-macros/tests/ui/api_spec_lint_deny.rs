rampart::api!("tests/ui/specs/insecure.yaml");

fn main() {}
