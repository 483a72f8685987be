rampart::api!(specs::petstore);

fn main() {}
