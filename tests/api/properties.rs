//! Properties (leads.md "Properties", issue 16 item 3): listings with their
//! defaults and rules, filters and sorts, and the listings that fit a
//! lead's preferences.

use serde_json::{Value, json};

use crate::both;

const PROPERTIES: &str = "/api/v1/properties";

fn titles(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["title"]
                .as_str()
                .or_else(|| p["property"]["title"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

both! {
    async fn a_property_has_its_defaults_and_rules(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.post(&ann, PROPERTIES, json!({"title": "Loft by the river"})).await;
        r.assert(201);
        assert_eq!((r.body["status"].as_str(), r.body["listing_type"].as_str(), r.body["property_type"].as_str()), (Some("available"), Some("sale"), Some("other")));
        assert_eq!((r.body["price"].as_str(), r.body["currency"].as_str()), (Some("0.00"), Some("USD")));
        assert_eq!(r.body["address"], Value::Null);
        assert!(r.body.get("city_key").is_none());
        let seller = app.post(&ann, "/api/v1/contacts", json!({"name": "Sam Seller"})).await;
        let r = app.post(&ann, PROPERTIES, json!({
            "title": "Villa Sol", "property_type": "villa", "listing_type": "rent", "price": "2500.5", "currency": "eur",
            "bedrooms": 4, "bathrooms": 2, "area_sqft": 2100, "latitude": 38.72, "longitude": -9.14,
            "address": {"line1": "Rua A 1", "city": "Lisbon", "country": "pt"}, "seller_contact_id": seller.body["id"], "tags": ["sea view"]
        })).await;
        r.assert(201);
        assert_eq!((r.body["price"].as_str(), r.body["currency"].as_str()), (Some("2500.50"), Some("EUR")));
        assert_eq!(r.body["address"]["country"], "PT");
        assert_eq!(r.body["address"]["locality"], Value::Null);
        let id = r.body["id"].as_str().unwrap().to_string();
        // A rent listing is rented, never sold.
        app.patch(&ann, &format!("{PROPERTIES}/{id}"), json!({"status": "sold"})).await.assert_problem(422, "validation_failed");
        app.patch(&ann, &format!("{PROPERTIES}/{id}"), json!({"status": "rented"})).await.assert(200);
        let r = app.post(&ann, PROPERTIES, json!({"title": "", "property_type": "castle", "latitude": 91, "bedrooms": -1,
            "price": "1.234", "address": {"city": "X", "country": "XX"}})).await;
        r.assert_problem(422, "validation_failed");
        let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        for field in ["title", "property_type", "latitude", "bedrooms", "price", "address.country"] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
        app.post(&ann, PROPERTIES, json!({"title": "T", "address": {"street": "x"}})).await.assert_problem(422, "validation_failed");
        app.post(&ann, PROPERTIES, json!({"title": "T", "seller_contact_id": uuid::Uuid::now_v7()})).await.assert_problem(422, "contact_not_found");
    }

    async fn properties_filter_by_city_price_bedrooms_and_status(app) {
        let ann = app.register("ann@example.com").await;
        for (title, city, price, beds, kind, status) in [
            ("Cheap flat", "Lisbon", "150000", 1, "apartment", "available"),
            ("Family house", "lisbon", "420000", 4, "house", "available"),
            ("Porto house", "Porto", "300000", 3, "house", "available"),
            ("Sold house", "Lisbon", "350000", 3, "house", "sold"),
        ] {
            app.post(&ann, PROPERTIES, json!({"title": title, "price": price, "bedrooms": beds, "property_type": kind,
                "status": status, "address": {"city": city, "locality": "Centro"}})).await.assert(201);
        }
        let q = |query: &str| {
            let app = &app;
            let ann = ann.clone();
            let query = query.to_string();
            async move { titles(&app.get(&ann, &format!("{PROPERTIES}?{query}")).await.body) }
        };
        assert_eq!(q("city=LISBON&sort=price").await, ["Cheap flat", "Sold house", "Family house"]);
        assert_eq!(q("city=lisbon&price_min=200000&price_max=400000").await, ["Sold house"]);
        assert_eq!(q("bedrooms_min=3&status=available&sort=-price").await, ["Family house", "Porto house"]);
        assert_eq!(q("property_type=apartment&property_type=house&status=sold").await, ["Sold house"]);
        assert_eq!(q("q=porto").await, ["Porto house"]);
        assert_eq!(q("q=centro&listing_type=sale&sort=price&limit=2").await, ["Cheap flat", "Porto house"]);
        for bad in ["status=gone", "price_min=abc", "bedrooms_min=-1", "listing_type=lease", "sort=bedrooms"] {
            app.get(&ann, &format!("{PROPERTIES}?{bad}")).await.assert_problem(422, "validation_failed");
        }
    }

    async fn a_deal_won_on_a_property_sells_or_rents_it_in_the_same_transaction(app) {
        let ann = app.register("ann@example.com").await;
        let contact = app.post(&ann, "/api/v1/contacts", json!({"name": "Buyer"})).await;
        let contact_id = contact.body["id"].as_str().unwrap().to_string();
        let house = app.post(&ann, PROPERTIES, json!({"title": "House", "price": "300000"})).await;
        let flat = app.post(&ann, PROPERTIES, json!({"title": "Flat", "listing_type": "rent", "status": "under_offer"})).await;
        let (house_id, flat_id) = (house.body["id"].as_str().unwrap().to_string(), flat.body["id"].as_str().unwrap().to_string());
        let win = |deal: &str| {
            let path = format!("/api/v1/deals/{deal}");
            let app = &app;
            let ann = ann.clone();
            async move {
                app.patch(&ann, &path, json!({"status": "in_progress"})).await.assert(200);
                app.patch(&ann, &path, json!({"status": "won"})).await
            }
        };
        let deal = app.post(&ann, "/api/v1/deals", json!({"title": "Sale", "contact_id": contact_id, "amount": "300000", "property_id": house_id})).await;
        deal.assert(201);
        assert_eq!(deal.body["property_id"], house_id.as_str());
        win(deal.body["id"].as_str().unwrap()).await.assert(200);
        let sold = app.get(&ann, &format!("{PROPERTIES}/{house_id}")).await;
        assert_eq!((sold.body["status"].as_str(), sold.body["version"].as_i64()), (Some("sold"), Some(2)));
        // A rental is rented.
        let lease = app.post(&ann, "/api/v1/deals", json!({"title": "Lease", "contact_id": contact_id, "amount": "1200"})).await;
        let lease_id = lease.body["id"].as_str().unwrap().to_string();
        app.patch(&ann, &format!("/api/v1/deals/{lease_id}"), json!({"property_id": flat_id})).await.assert(200);
        win(&lease_id).await.assert(200);
        assert_eq!(app.get(&ann, &format!("{PROPERTIES}/{flat_id}")).await.body["status"], "rented");
        // A sold property cannot be won again: the whole change is refused.
        let again = app.post(&ann, "/api/v1/deals", json!({"title": "Too late", "contact_id": contact_id, "amount": "310000", "property_id": house_id})).await;
        let again_id = again.body["id"].as_str().unwrap().to_string();
        let r = win(&again_id).await;
        r.assert_problem(409, "property_unavailable");
        assert_eq!(r.body["property_id"], house_id.as_str());
        assert_eq!(app.get(&ann, &format!("/api/v1/deals/{again_id}")).await.body["status"], "in_progress");
        assert_eq!(app.get(&ann, &format!("{PROPERTIES}/{house_id}")).await.body["version"], 2);
        // Unknown properties are refused; clearing the link works.
        let unknown = uuid::Uuid::now_v7().to_string();
        app.post(&ann, "/api/v1/deals", json!({"title": "X", "contact_id": contact_id, "property_id": unknown})).await.assert_problem(422, "property_not_found");
        let cleared = app.patch(&ann, &format!("/api/v1/deals/{again_id}"), json!({"property_id": null})).await;
        assert_eq!(cleared.body["property_id"], Value::Null);
    }

    async fn a_lead_sees_the_properties_that_fit_ranked_with_reasons(app) {
        let ann = app.register("ann@example.com").await;
        for (title, city, region, price, beds, kind, status) in [
            ("In budget", "Cascais", "Lisboa", "380000", 3, "house", "available"),
            ("Just over", "Sintra", "Lisboa", "430000", 4, "house", "available"),
            ("Far over", "Cascais", "Lisboa", "600000", 4, "house", "available"),
            ("Wrong type", "Cascais", "Lisboa", "300000", 3, "apartment", "available"),
            ("Too small", "Cascais", "Lisboa", "300000", 1, "house", "available"),
            ("Elsewhere", "Porto", "Norte", "300000", 3, "house", "available"),
            ("Under offer", "Cascais", "Lisboa", "300000", 3, "house", "under_offer"),
        ] {
            app.post(&ann, PROPERTIES, json!({"title": title, "price": price, "bedrooms": beds, "property_type": kind,
                "status": status, "address": {"city": city, "region": region}})).await.assert(201);
        }
        let lead = app.post(&ann, "/api/v1/leads", json!({"name": "Buyer", "preferences": {
            "budget_max": "400000", "property_type": "house", "bedrooms_min": 2, "locations": ["lisboa"]}})).await;
        let id = lead.body["id"].as_str().unwrap();
        let r = app.get(&ann, &format!("/api/v1/leads/{id}/matching-properties")).await;
        r.assert(200);
        assert_eq!(titles(&r.body), ["In budget", "Just over"]);
        assert_eq!(r.body["data"][0]["score"], 1.0);
        assert!(r.body["data"][1]["score"].as_f64().unwrap() < 1.0);
        let reasons = r.body["data"][0]["reasons"].as_array().unwrap();
        assert!(reasons.iter().any(|x| x.as_str().unwrap().contains("in budget")), "{reasons:?}");
        assert!(reasons.iter().any(|x| x.as_str().unwrap() == "in lisboa"), "{reasons:?}");
        // A lead without preferences fits every available listing equally.
        let open = app.post(&ann, "/api/v1/leads", json!({"name": "Anyone"})).await;
        let all = app.get(&ann, &format!("/api/v1/leads/{}/matching-properties", open.body["id"].as_str().unwrap())).await;
        assert_eq!(all.body["data"].as_array().unwrap().len(), 6);
        app.get(&ann, &format!("/api/v1/leads/{}/matching-properties", uuid::Uuid::now_v7())).await.assert_problem(404, "not_found");
    }
}
