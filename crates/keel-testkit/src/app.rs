//! The real server on a loopback port, over a fresh test database, with a known administrator.

use crate::TestDb;
use keel_app::{App, Settings};
use keel_domain::product::{Product, Role, Roles};
use keel_domain::user::User;
use std::net::SocketAddr;

/// The administrator every test app starts with.
pub const ADMIN_EMAIL: &str = "admin@keel.test";
/// Their password.
pub const ADMIN_PASSWORD: &str = "admin-password-1";
/// The password of users made by [`TestApp::member`].
pub const MEMBER_PASSWORD: &str = "member-password-1";

/// A running server for one test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// The application, for arranging data directly.
    pub app: App,
    /// The administrator.
    pub admin: User,
    /// A bearer token of the administrator.
    pub admin_token: String,
    /// The database; dropped (removed) with the app.
    pub db: TestDb,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Starts the server on `db` at 127.0.0.1:0 with a first administrator.
pub async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with(db, Settings::default()).await
}

/// Starts the server on `db` with `settings`.
pub async fn spawn_app_with(db: TestDb, settings: Settings) -> TestApp {
    let app = App::new(db.store(), settings);
    let admin = app
        .ensure_first_admin(Some(ADMIN_EMAIL), Some(ADMIN_PASSWORD))
        .await
        .expect("first admin")
        .expect("empty database")
        .user;
    let admin_token = app.create_token(&admin, "tests").await.expect("token").token;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server_app = app.clone();
    tokio::spawn(async move {
        let _ = keel_web::serve(listener, server_app, keel_web::WebConfig::default(), async {
            let _ = rx.await;
        })
        .await;
    });
    TestApp { base: format!("http://{addr}"), addr, app, admin, admin_token, db, shutdown: Some(tx) }
}

impl TestApp {
    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An HTTP client that keeps cookies.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).build().expect("client")
    }

    /// Creates a product as the administrator (who becomes its PM and PO).
    pub async fn product(&self, key: &str) -> Product {
        self.app.create_product(Some(&self.admin), key, &format!("Product {key}"), "").await.expect("product")
    }

    /// Creates a user holding `roles` in `product`; returns the user and a bearer token.
    pub async fn member(&self, product: &Product, email: &str, roles: &[Role]) -> (User, String) {
        let input = keel_app::users::UserInput {
            email: email.into(),
            name: None,
            password: MEMBER_PASSWORD.into(),
            is_admin: false,
        };
        let user = self.app.create_user(None, input).await.expect("user");
        if !roles.is_empty() {
            self.app.set_member(None, product, user.id, Roles::of(roles)).await.expect("member");
        }
        let token = self.app.create_token(&user, "tests").await.expect("token").token;
        (user, token)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
