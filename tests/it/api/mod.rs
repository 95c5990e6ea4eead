//! The JSON API's conventions, over every endpoint the OpenAPI document lists: bearer auth,
//! scopes, errors, cursor paging, idempotency keys, rate limits and the document itself.

mod backups;
mod conventions;
mod idempotency;
mod invoices;
mod openapi;
mod ops;
mod products;
mod security;
mod subscriptions;
mod tenants;

use reqwest::{Method, Response};
use serde_json::Value;

use crate::helpers::{TestApp, TestClient, token_for};

/// A token and a client for it.
pub(crate) struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn new(app: &TestApp, who: &TestClient, scopes: &[&str]) -> Api {
        Api {
            base: app.base.clone(),
            token: token_for(who, scopes).await,
            http: reqwest::Client::new(),
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.post_keyed(path, body, None).await
    }

    pub async fn post_keyed(&self, path: &str, body: &Value, key: Option<&str>) -> Response {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.unwrap()
    }

    pub async fn send(&self, method: Method, path: &str) -> Response {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if method != Method::GET {
            req = req.json(&serde_json::json!({}));
        }
        req.send().await.unwrap()
    }
}

pub(crate) async fn json(res: Response) -> Value {
    res.json().await.unwrap()
}

pub(crate) async fn error_code(res: Response) -> String {
    json(res).await["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
