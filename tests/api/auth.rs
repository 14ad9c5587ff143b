//! api.md §3 accounts and tokens.

use serde_json::json;

use crate::both;
use crate::helpers::*;

both! {
    async fn register_returns_a_token_pair_and_an_owned_organization(app) {
        let r = app.post_public("/api/v1/auth/register", json!({
            "email": "  Ann@Example.COM ", "password": PASSWORD, "name": " Ann "})).await;
        r.assert(201);
        assert_eq!(r.body["token_type"], "bearer");
        assert_eq!(r.body["expires_in"], 900);
        assert_eq!(r.body["user"]["email"], "ann@example.com");
        assert_eq!(r.body["user"]["name"], "Ann");
        assert_eq!(r.body["organizations"][0]["name"], "Ann's organization");
        assert_eq!(r.body["organizations"][0]["role"], "owner");
        assert_eq!(r.body["organizations"][0]["default_currency"], "USD");
        let s = session_from(&r.body);
        let me = send(app.request(reqwest::Method::GET, "/api/v1/auth/me").bearer_auth(&s.token)).await;
        me.assert(200);
        assert_eq!(me.body["user"]["id"], s.user_id.as_str());
        assert_eq!(me.body["organizations"][0]["id"], s.org_id.as_str());
    }
}
