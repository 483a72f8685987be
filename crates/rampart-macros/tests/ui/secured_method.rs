use rampart::secured;

struct Admin;

impl Admin {
    #[secured(role = "admin")]
    async fn purge(&self) {}
}

fn main() {}
