//! `api!` generates the whole server for a spec at compile time.

mod petstore {
    rampart::api!("tests/ui/specs/petstore.yaml");
}

fn main() {
    assert_eq!(petstore::VERSION, "1.4.0");
    let ids: Vec<String> = petstore::policies::all().into_iter().map(|p| p.operation_id).collect();
    assert_eq!(ids, ["getHealth", "listPets", "createPet", "getPet", "deletePet", "registerOwner"]);
}
