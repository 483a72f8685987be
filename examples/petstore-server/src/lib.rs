//! An in-memory implementation of the generated `RampartPetstoreApi` trait.
//! Security (auth, roles, rates, validation, headers) is the router's job; the
//! handlers here only keep pets.
//!
//! A handler can only answer what the spec documents: each operation returns
//! its generated response enum, one variant per documented status.
//!
//! ```
//! // deletePet documents 204, 400, 401, 403, 404, 429 and 500.
//! let _ = petstore::DeletePetResponse::NoContent;
//! ```
//!
//! ```compile_fail
//! // deletePet documents no 200: there is no variant to send one.
//! let _ = petstore::DeletePetResponse::Ok;
//! ```
//!
//! ```compile_fail
//! // 201 carries a Pet; another body does not type-check.
//! let _ = petstore::CreatePetResponse::Created(String::from("not a pet"));
//! ```

pub mod app;

use std::collections::BTreeMap;
use std::sync::Mutex;

use petstore::{
    CreatePetResponse, DeletePetResponse, GetHealthResponse, GetPetPath, GetPetResponse, Health,
    HealthStatus, ListPetsHeaders, ListPetsQuery, ListPetsResponse, NewPet, Owner, Pet, Problem,
    RampartPetstoreApi, RegisterOwnerResponse,
};
use rampart::Principal;

/// Pets and owners kept in memory.
#[derive(Default)]
pub struct InMemoryPetstore {
    pets: Mutex<BTreeMap<String, Pet>>,
    owners: Mutex<Vec<Owner>>,
}

fn not_found() -> Problem {
    Problem {
        r#type: "https://rampart.dev/problems/not-found".into(),
        title: "Not Found".into(),
        status: 404,
        detail: Some("no pet with that id".into()),
        instance: None,
        policy: None,
        limit: None,
        window: None,
        errors_: None,
    }
}

/// A new random-enough v4-shaped id (time and a counter; not for secrets).
fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (t >> 32) as u32,
        (t >> 16) as u16,
        (t & 0xfff) as u16,
        (n & 0xfff) as u16,
        n
    )
}

impl RampartPetstoreApi for InMemoryPetstore {
    async fn get_health(&self) -> GetHealthResponse {
        GetHealthResponse::Ok(Health {
            status: HealthStatus::Ok,
        })
    }

    async fn list_pets(
        &self,
        _principal: Principal,
        query: ListPetsQuery,
        _headers: ListPetsHeaders,
    ) -> ListPetsResponse {
        let limit = query.limit.unwrap_or(20).clamp(1, 100) as usize;
        let pets = self.pets.lock().unwrap_or_else(|e| e.into_inner());
        let listed = pets
            .values()
            .filter(|p| match &query.tag {
                Some(tag) => p
                    .tags
                    .as_ref()
                    .is_some_and(|tags| tags.iter().any(|t| **t == *tag)),
                None => true,
            })
            .take(limit)
            .cloned()
            .collect();
        ListPetsResponse::Ok(listed)
    }

    async fn create_pet(&self, _principal: Principal, body: NewPet) -> CreatePetResponse {
        let pet = Pet {
            id: Some(new_id()),
            name: body.name,
            species: body.species,
            age: body.age,
            weight_kg: body.weight_kg,
            tags: body.tags,
            adopted: body.adopted,
        };
        let id = pet.id.clone().unwrap_or_default();
        self.pets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, pet.clone());
        CreatePetResponse::Created(pet)
    }

    async fn get_pet(&self, _principal: Principal, path: GetPetPath) -> GetPetResponse {
        match self
            .pets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&path.pet_id)
        {
            Some(pet) => GetPetResponse::Ok(pet.clone()),
            None => GetPetResponse::NotFound(not_found()),
        }
    }

    async fn delete_pet(
        &self,
        _principal: Principal,
        path: petstore::DeletePetPath,
    ) -> DeletePetResponse {
        match self
            .pets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&path.pet_id)
        {
            Some(_) => DeletePetResponse::NoContent,
            None => DeletePetResponse::NotFound(not_found()),
        }
    }

    async fn register_owner(&self, _principal: Principal, body: Owner) -> RegisterOwnerResponse {
        let owner = Owner {
            id: Some(new_id()),
            ..body
        };
        self.owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(owner.clone());
        RegisterOwnerResponse::Created(owner)
    }
}
