//! A spec with a deny-level finding: the finding is reported, and the items
//! are still generated, so code using them shows no follow-on errors.
mod users {
    rampart::api!("tests/ui/specs/insecure.yaml");
}

fn main() {
    let _ = users::policies::list_users();
}
