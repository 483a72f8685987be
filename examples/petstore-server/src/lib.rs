//! A SQL-backed implementation of the generated `RampartPetstoreApi` trait:
//! pets and owners live in SQLite (the default) or PostgreSQL (see [`db`]).
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
pub mod db;

use petstore::{
    CreatePetResponse, DeletePetResponse, GetHealthResponse, GetPetPath, GetPetResponse, Health,
    HealthStatus, ListPetsHeaders, ListPetsQuery, ListPetsResponse, NewPet, Owner, Pet, Problem,
    ProblemErrorsItem, RampartPetstoreApi, RegisterOwnerResponse,
};
use rampart::Principal;

use crate::db::{Database, DbError};

/// Pets and owners kept in a SQL [`Database`].
#[derive(Debug, Clone)]
pub struct SqlPetstore {
    db: Database,
}

impl SqlPetstore {
    /// Serve the pets and owners in `db`.
    pub fn new(db: Database) -> Self {
        SqlPetstore { db }
    }
}

fn problem(slug: &str, title: &str, status: i32, detail: Option<&str>) -> Problem {
    Problem {
        r#type: format!("https://rampart.dev/problems/{slug}"),
        title: title.into(),
        status,
        detail: detail.map(Into::into),
        instance: None,
        policy: None,
        limit: None,
        window: None,
        errors_: None,
    }
}

fn not_found() -> Problem {
    problem("not-found", "Not Found", 404, Some("no pet with that id"))
}

/// A 500 that says nothing of the cause; the cause goes to the log.
fn internal(operation: &str, error: &DbError) -> Problem {
    tracing::error!(operation, %error, "the petstore database failed");
    problem("internal", "Internal Server Error", 500, None)
}

/// A 422 for text fields holding U+0000, which PostgreSQL's text cannot
/// store; refused on SQLite too so both backends answer alike.
fn nul_refused(fields: &[(&str, &str)]) -> Option<Problem> {
    let errors: Vec<ProblemErrorsItem> = fields
        .iter()
        .filter(|(_, value)| value.contains('\0'))
        .map(|(field, _)| ProblemErrorsItem {
            field: (*field).to_owned(),
            rule: "nul".into(),
            message: Some("text containing U+0000 (NUL) cannot be stored".into()),
        })
        .collect();
    (!errors.is_empty()).then(|| Problem {
        errors_: Some(errors),
        ..problem("validation-failed", "Validation failed", 422, None)
    })
}

/// A new UUID (version 7: 48 bits of Unix milliseconds, then 74 random bits),
/// so ids sort roughly by creation time and stay unique across restarts and
/// instances sharing a database.
fn new_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
        & 0xffff_ffff_ffff;
    let mut random = [0u8; 10];
    rand::fill(&mut random);
    let rand_a = u16::from_be_bytes([random[0], random[1]]) & 0x0fff;
    let rand_b = u64::from_be_bytes([
        random[2], random[3], random[4], random[5], random[6], random[7], random[8], random[9],
    ]) & 0x3fff_ffff_ffff_ffff;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        millis >> 16,
        millis & 0xffff,
        rand_a,
        0x8000 | (rand_b >> 48),
        rand_b & 0xffff_ffff_ffff
    )
}

impl RampartPetstoreApi for SqlPetstore {
    async fn get_health(&self) -> GetHealthResponse {
        let status = match self.db.ping().await {
            Ok(()) => HealthStatus::Ok,
            Err(error) => {
                tracing::warn!(%error, "the petstore database does not answer");
                HealthStatus::Degraded
            }
        };
        GetHealthResponse::Ok(Health { status })
    }

    async fn list_pets(
        &self,
        _principal: Principal,
        query: ListPetsQuery,
        _headers: ListPetsHeaders,
    ) -> ListPetsResponse {
        let limit = i64::from(query.limit.unwrap_or(20).clamp(1, 100));
        match self.db.list_pets(query.tag.as_deref(), limit).await {
            Ok(pets) => ListPetsResponse::Ok(pets),
            Err(e) => ListPetsResponse::InternalServerError(internal("listPets", &e)),
        }
    }

    async fn create_pet(&self, _principal: Principal, body: NewPet) -> CreatePetResponse {
        if let Some(problem) = nul_refused(&[("body.name", &body.name)]) {
            return CreatePetResponse::UnprocessableEntity(problem);
        }
        let pet = Pet {
            id: Some(new_id()),
            name: body.name,
            species: body.species,
            age: body.age,
            weight_kg: body.weight_kg,
            tags: body.tags,
            adopted: body.adopted,
        };
        match self.db.insert_pet(&pet).await {
            Ok(()) => CreatePetResponse::Created(pet),
            Err(e) => CreatePetResponse::InternalServerError(internal("createPet", &e)),
        }
    }

    async fn get_pet(&self, _principal: Principal, path: GetPetPath) -> GetPetResponse {
        match self.db.get_pet(&path.pet_id).await {
            Ok(Some(pet)) => GetPetResponse::Ok(pet),
            Ok(None) => GetPetResponse::NotFound(not_found()),
            Err(e) => GetPetResponse::InternalServerError(internal("getPet", &e)),
        }
    }

    async fn delete_pet(
        &self,
        _principal: Principal,
        path: petstore::DeletePetPath,
    ) -> DeletePetResponse {
        match self.db.delete_pet(&path.pet_id).await {
            Ok(true) => DeletePetResponse::NoContent,
            Ok(false) => DeletePetResponse::NotFound(not_found()),
            Err(e) => DeletePetResponse::InternalServerError(internal("deletePet", &e)),
        }
    }

    async fn register_owner(&self, _principal: Principal, body: Owner) -> RegisterOwnerResponse {
        let website = body.website.as_deref().unwrap_or("");
        if let Some(problem) = nul_refused(&[
            ("body.email", &body.email),
            ("body.displayName", &body.display_name),
            ("body.website", website),
        ]) {
            return RegisterOwnerResponse::UnprocessableEntity(problem);
        }
        let owner = Owner {
            id: Some(new_id()),
            ..body
        };
        match self.db.insert_owner(&owner).await {
            Ok(()) => RegisterOwnerResponse::Created(owner),
            Err(e) => RegisterOwnerResponse::InternalServerError(internal("registerOwner", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_7_uuids_that_pass_the_spec() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        for id in [&a, &b] {
            assert!(
                rampart::validate::formats::uuid(id.as_str()).is_ok(),
                "{id}"
            );
            assert_eq!(&id[14..15], "7", "{id}");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        }
    }
}
