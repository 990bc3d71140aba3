//! The demo product: a small online shop's backlog with epics, about sixty stories with
//! acceptance criteria and estimates, two members per role, and a few weeks of history, so a
//! newcomer sees a living product at once. Created only on request (`keel serve --demo`) and only
//! into a database without products.

use crate::auth::{hash_password, random_password};
use crate::{now, App, AppResult};
use keel_domain::item::{
    Acceptance, AcceptanceState, Criterion, ItemKind, ItemPatch, NewItem, Points, StoryFields,
};
use keel_domain::product::{ProductKey, Role, Roles};
use keel_domain::proposal::Position;
use keel_domain::readiness::DefinitionOfDone;
use keel_domain::user::{Email, NewUser, User};
use keel_domain::workflow::Category;
use keel_domain::{Timestamp, UserId};
use keel_store::{NewProduct, WriteCtx};

/// What the demo created, for the start-up log.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    /// The product's key.
    pub product_key: String,
    /// Items created.
    pub items: usize,
    /// The demo members' e-mails.
    pub members: Vec<String>,
    /// The password every demo member signs in with (printed once).
    pub password: String,
}

const MEMBERS: [(&str, &str, Role); 8] = [
    ("Priya Shah", "priya@northwind.example", Role::Pm),
    ("Marcus Lee", "marcus@northwind.example", Role::Pm),
    ("Olivia Brandt", "olivia@northwind.example", Role::Po),
    ("Tomás Rivera", "tomas@northwind.example", Role::Po),
    ("Dana Kim", "dana@northwind.example", Role::Team),
    ("Jonas Weber", "jonas@northwind.example", Role::Team),
    ("Sara Ng", "sara@northwind.example", Role::Stakeholder),
    ("Leo Martin", "leo@northwind.example", Role::Stakeholder),
];

/// (title, as a, I want, so that, criteria, points, labels)
type Story =
    (&'static str, &'static str, &'static str, &'static str, &'static [&'static str], f64, &'static str);

const EPICS: [(&str, &str, &[Story]); 5] = [
    ("Checkout that converts", "Cut checkout abandonment from 68 % to under 55 % by removing friction between cart and confirmation.", &[
        ("Guest checkout without an account", "first-time shopper", "to pay without creating an account", "I can buy in under two minutes", &["Given an empty session When I check out Then I am not asked to register", "Given a guest order When it is placed Then a confirmation e-mail is sent"], 5.0, "checkout"),
        ("Save card for next purchase", "returning customer", "my card to be remembered", "I don't type it again", &["Given the save box is ticked When I pay Then the card is tokenised, never stored in clear", "Given a saved card When I check out Then it is preselected"], 8.0, "checkout,payments"),
        ("Apple Pay and Google Pay", "mobile shopper", "to pay with my phone's wallet", "I skip the card form", &["Given a supported device When I reach payment Then the wallet button shows", "Given a declined wallet payment Then I can fall back to card"], 8.0, "payments,mobile"),
        ("Show delivery cost before checkout", "price-conscious shopper", "to see delivery cost in the cart", "I am not surprised at the last step", &["Given a cart and a postcode When I view the cart Then delivery cost and date are shown"], 3.0, "checkout"),
        ("Address autocomplete", "shopper", "my address completed as I type", "I make fewer typos", &["Given three typed characters Then suggestions appear within 300 ms", "Given no network Then the plain form still works"], 5.0, "checkout"),
        ("Apply discount code", "shopper with a voucher", "to enter a code in the cart", "I get the promised discount", &["Given a valid code Then the total drops by the discount", "Given an expired code Then I see why it was refused"], 3.0, "checkout,promotions"),
        ("One-page checkout layout", "shopper", "all checkout steps on one page", "I see how far I am from done", &["Given the checkout page Then address, delivery and payment are visible without navigation"], 13.0, "checkout,ux"),
        ("3-D Secure 2 challenge flow", "card holder", "the bank check to open in place", "I don't lose my cart", &["Given a challenge When it completes Then I return to the confirmation step"], 5.0, "payments"),
        ("Order confirmation page", "shopper", "a clear confirmation with order number", "I know the order went through", &["Given a placed order Then its number, items and delivery date are shown"], 2.0, "checkout"),
        ("Retry failed payment", "shopper", "to retry a failed payment without re-entering everything", "a hiccup doesn't cost me the order", &["Given a failed payment When I retry Then the cart and address are kept"], 3.0, "payments"),
        ("Checkout funnel analytics events", "product manager", "each checkout step to emit an event", "I can see where people drop out", &["Given each step Then one analytics event with the step name is sent"], 2.0, "analytics"),
        ("Fix: total rounding on multi-currency carts", "shopper paying in CHF", "totals to match the sum of lines", "I trust the price", &["Given lines in CHF Then the total equals the rounded sum of lines"], 2.0, "bug,payments"),
    ]),
    ("Search that finds", "Raise search-to-cart rate from 9 % to 14 %: people who search should find and buy.", &[
        ("Typo-tolerant search", "shopper", "results even when I misspell", "I don't give up after a typo", &["Given 'snekers' Then sneakers are among the first results"], 8.0, "search"),
        ("Filter by size and colour", "shopper", "to narrow results by size and colour", "I only see what fits", &["Given a filter Then counts update without reloading", "Given no match Then I am offered to clear filters"], 5.0, "search"),
        ("Sort by price and rating", "shopper", "to sort results", "the cheapest or best comes first", &["Given a sort choice Then it is kept in the URL"], 2.0, "search"),
        ("Search suggestions as you type", "shopper", "suggestions while typing", "I reach products faster", &["Given two characters Then up to eight suggestions appear within 150 ms"], 5.0, "search"),
        ("Zero-result page with alternatives", "shopper", "alternatives when nothing matches", "I still find something", &["Given no result Then related categories and popular items are shown"], 3.0, "search,ux"),
        ("Synonyms managed by merchandisers", "merchandiser", "to define synonyms", "'hoodie' also finds 'sweatshirt'", &["Given a synonym pair Then both words return the same results"], 5.0, "search,admin"),
        ("Boost in-stock items", "shopper", "items in stock ranked first", "I don't click through to sold-out pages", &["Given equal relevance Then in-stock items rank above sold-out ones"], 3.0, "search"),
        ("Recently viewed in search box", "returning shopper", "my recent items when I focus the search", "I get back to them in one click", &["Given five viewed items Then they show on focus, newest first"], 2.0, "search"),
        ("Search analytics dashboard", "product manager", "top queries and zero-result queries", "I know what people look for and miss", &["Given a week of data Then the top 50 queries with click-through are listed"], 5.0, "analytics"),
        ("Spike: evaluate vector search", "developer", "to compare vector and keyword relevance", "we decide with evidence", &["Given 200 labelled queries Then both approaches are scored by nDCG"], 3.0, "search,research"),
        ("Fix: search ignores accents", "shopper in France", "'cafe' to find 'café'", "accents don't hide products", &["Given 'cafe' Then items titled 'café' are found"], 1.0, "bug,search"),
        ("Category landing pages", "shopper", "a page per category with filters", "I can browse without searching", &["Given a category Then its best sellers and filters show"], 8.0, "search,ux"),
    ]),
    ("Accounts customers keep", "Lift 90-day retention from 31 % to 38 % with accounts people find worth keeping.", &[
        ("Sign in with e-mail link", "customer", "to sign in with a link sent by e-mail", "I don't need a password", &["Given my e-mail When I request a link Then it works once within 15 minutes"], 5.0, "accounts"),
        ("Order history", "customer", "to see my past orders", "I can reorder or check what I bought", &["Given past orders Then they are listed newest first with status"], 3.0, "accounts"),
        ("Reorder in one click", "repeat customer", "to put a past order back in the cart", "routine purchases take seconds", &["Given a past order When I reorder Then available items go to the cart and missing ones are named"], 3.0, "accounts"),
        ("Wishlist", "customer", "to save items for later", "I can come back to them", &["Given a saved item Then it appears in my wishlist on every device"], 5.0, "accounts"),
        ("Price-drop alerts on wishlist", "bargain hunter", "an e-mail when a wished item gets cheaper", "I buy at the right moment", &["Given a 10 % drop Then one e-mail per item per week at most"], 5.0, "accounts,notifications"),
        ("Manage addresses", "customer", "to keep several addresses", "I can ship to home or office", &["Given two addresses Then I can choose either at checkout", "Given a default Then it is preselected"], 3.0, "accounts"),
        ("Delete my account (GDPR)", "customer", "to delete my account and data", "my data is gone when I leave", &["Given a deletion request Then personal data is erased within 30 days and I get a confirmation"], 5.0, "accounts,compliance"),
        ("Export my data", "customer", "a download of my data", "I know what is kept about me", &["Given a request Then a JSON file with orders, addresses and preferences is e-mailed"], 3.0, "accounts,compliance"),
        ("Communication preferences", "customer", "to choose which e-mails I get", "I only get what I want", &["Given unticked marketing Then no marketing e-mail is sent"], 2.0, "accounts,notifications"),
        ("Loyalty points balance", "loyal customer", "to see my points", "I know what I can redeem", &["Given points Then the balance and expiry date show in my account"], 5.0, "accounts,loyalty"),
        ("Fix: password reset link expires too early", "customer", "reset links to last 60 minutes", "I can finish resetting", &["Given a link older than 30 and younger than 60 minutes Then it still works"], 1.0, "bug,accounts"),
        ("Spike: passkeys support", "developer", "to assess passkeys on our stack", "we can plan passwordless sign-in", &["Given the spike Then a written recommendation with effort is shared"], 2.0, "accounts,research"),
    ]),
    ("Where is my order?", "Halve 'where is my order' support tickets (1,900 a month today).", &[
        ("Order tracking page", "customer", "a page showing where my parcel is", "I don't have to call support", &["Given a shipped order Then carrier events are shown with times"], 5.0, "tracking"),
        ("Shipping notifications", "customer", "an e-mail when my order ships", "I know it's on its way", &["Given a shipment Then one e-mail with the tracking link is sent"], 3.0, "tracking,notifications"),
        ("Delivery date estimate", "customer", "an estimated delivery date", "I can plan to be home", &["Given an order Then a date range is shown from carrier data"], 5.0, "tracking"),
        ("SMS updates opt-in", "customer", "text messages about delivery", "I get news without e-mail", &["Given opt-in Then shipped and out-for-delivery texts are sent"], 5.0, "tracking,notifications"),
        ("Change delivery address before shipping", "customer", "to change the address until it ships", "a move doesn't lose my parcel", &["Given an unshipped order Then I can change the address once"], 3.0, "tracking"),
        ("Carrier webhook ingestion", "developer", "carrier status webhooks stored", "tracking is near real time", &["Given a webhook Then the event is stored within 5 seconds, duplicates ignored"], 8.0, "tracking,platform"),
        ("Returns portal", "customer", "to start a return online", "I don't need to write to support", &["Given a delivered order within 30 days Then I can print a return label"], 8.0, "returns"),
        ("Refund status in account", "customer", "to see refund progress", "I know when my money comes back", &["Given a return Then its refund state and amount are shown"], 3.0, "returns,accounts"),
        ("Support agent order lookup", "support agent", "to find an order by e-mail or number", "I answer in one step", &["Given an e-mail Then all orders of that customer are listed"], 3.0, "support"),
        ("Proactive delay e-mails", "customer", "to hear about delays before I ask", "I trust the shop", &["Given a carrier delay Then an apology e-mail with the new date is sent"], 5.0, "tracking,notifications"),
        ("Fix: tracking link broken for DPD", "customer", "DPD links to open the right page", "tracking works for every carrier", &["Given a DPD parcel Then the link opens the DPD tracking page"], 1.0, "bug,tracking"),
        ("Support ticket tagging by reason", "support lead", "tickets tagged by contact reason", "we can measure WISMO tickets", &["Given a ticket Then a reason tag is required to close it"], 2.0, "support,analytics"),
    ]),
    ("Fast on every phone", "Mobile conversion to within 80 % of desktop; Largest Contentful Paint under 2.5 s at p75.", &[
        ("Lazy-load product images", "mobile shopper", "images to load as I scroll", "pages open quickly on 4G", &["Given a listing Then images below the fold load on scroll"], 3.0, "performance,mobile"),
        ("Responsive product page", "mobile shopper", "the product page to fit my screen", "I don't pinch and zoom", &["Given a 375 px screen Then no horizontal scrolling is needed"], 5.0, "mobile,ux"),
        ("Sticky add-to-cart button", "mobile shopper", "the buy button always in reach", "I can add to cart anywhere on the page", &["Given a scrolled product page Then the button stays visible"], 2.0, "mobile"),
        ("Image CDN with modern formats", "mobile shopper", "smaller images", "pages use less data", &["Given a browser that supports AVIF Then AVIF is served"], 5.0, "performance"),
        ("Cut JavaScript bundle by 40 %", "mobile shopper", "less script to download", "the page reacts sooner", &["Given the home page Then shipped JS is at most 180 KB compressed"], 8.0, "performance"),
        ("Offline cart", "commuter", "my cart kept when the connection drops", "I don't lose it in a tunnel", &["Given no connection When I add an item Then it syncs when back online"], 8.0, "mobile"),
        ("Performance budget in CI", "developer", "builds to fail when pages get too heavy", "speed doesn't regress unnoticed", &["Given a page over budget Then the CI job fails with the offending asset"], 3.0, "performance,platform"),
        ("Real-user monitoring of Core Web Vitals", "product manager", "field data on page speed", "I see what customers experience", &["Given a week of traffic Then p75 LCP, INP and CLS per page type are reported"], 3.0, "performance,analytics"),
        ("Tap targets at least 44 px", "mobile shopper", "buttons big enough to hit", "I don't tap the wrong thing", &["Given any page Then interactive elements are at least 44 by 44 px"], 2.0, "mobile,accessibility"),
        ("Fix: layout shift on product page", "mobile shopper", "the page not to jump while loading", "I don't tap the wrong button", &["Given a product page Then CLS is under 0.1"], 2.0, "bug,performance"),
        ("Add to home screen (PWA)", "frequent shopper", "the shop on my home screen", "I open it like an app", &["Given a supported browser Then an install prompt is offered after the second visit"], 5.0, "mobile"),
        ("Spike: server-side rendering of listings", "developer", "to measure SSR for listings", "we know if it pays off", &["Given the spike Then LCP before and after is measured on three devices"], 3.0, "performance,research"),
    ]),
];

/// The text with its first letter in upper case ("evaluate …" → "Evaluate …").
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// Seeds the demo product into a database that has no products yet; `None` when products exist.
/// `admin` becomes Product Manager and Product Owner of the demo, so the first sign-in shows it.
pub async fn seed(app: &App, admin: Option<&User>) -> AppResult<Option<DemoInfo>> {
    let store = app.store();
    if !store.products().await?.is_empty() {
        return Ok(None);
    }
    const DAY: i64 = 24 * 3600;
    let start = now().plus_secs(-42 * DAY);
    let sys = |at: Timestamp, actor: Option<UserId>| WriteCtx { actor, at, proposal: None };
    let password = random_password();
    let hash = hash_password(&password)?;
    let mut users = Vec::new();
    for (name, email, _) in MEMBERS {
        let email = Email::parse("email", email)?;
        let u = match store.user_by_email(&email).await {
            Ok(u) => u,
            Err(_) => {
                let new = NewUser { email, name: name.into(), password_hash: hash.clone(), is_admin: false };
                store.create_user(new, &sys(start, None)).await?
            }
        };
        users.push(u);
    }
    let product = store
        .create_product(
            NewProduct {
                key: ProductKey::parse("key", "SHOP")?,
                name: "Northwind Shop".into(),
                description:
                    "The online shop of Northwind Outfitters: outdoor clothing and gear, sold in 14 \
                              countries. This backlog covers the web shop and its mobile experience."
                        .into(),
                owner: None,
            },
            &sys(start, admin.map(|a| a.id)),
        )
        .await?;
    for (u, (_, _, role)) in users.iter().zip(MEMBERS) {
        store.set_member(product.id, u.id, Roles::of(&[role]), &sys(start, None)).await?;
    }
    if let Some(a) = admin {
        store.set_member(product.id, a.id, Roles::of(&[Role::Pm, Role::Po]), &sys(start, None)).await?;
    }
    let workflow = store.workflow(product.id).await?;
    let state = |cat: Category, nth: usize| {
        workflow
            .states
            .iter()
            .filter(|s| s.category == cat)
            .nth(nth)
            .or(workflow.states.first())
            .map(|s| (s.id, s.category))
    };
    let (po, team) = (users[2].id, [users[4].id, users[5].id]);
    let mut count = 0;
    let mut seq = 0i64;
    for (e, (title, description, stories)) in EPICS.iter().enumerate() {
        let at = start.plus_secs(e as i64 * 3600);
        let epic = NewItem {
            kind: ItemKind::Epic,
            parent_id: None,
            title: (*title).into(),
            description: (*description).into(),
            story: StoryFields::default(),
            criteria: vec![],
            estimate: None,
            labels: vec![],
            assignee_id: None,
            status_id: None,
            sprint_id: None,
            release_id: None,
        };
        let epic = store.create_item(product.id, epic, &Position::Bottom, &sys(at, Some(po))).await?;
        count += 1;
        for (s, (t, who, want, why, crit, pts, labels)) in stories.iter().enumerate() {
            seq += 1;
            let created = start.plus_secs(e as i64 * 3600 + s as i64 * 600 + DAY);
            let kind = if t.starts_with("Fix:") {
                ItemKind::Bug
            } else if t.starts_with("Spike:") {
                ItemKind::Spike
            } else {
                ItemKind::Story
            };
            let new = NewItem {
                kind,
                parent_id: Some(epic.id),
                title: capitalise(t.trim_start_matches("Fix: ").trim_start_matches("Spike: ")),
                description: format!(
                    "Part of **{title}**.\n\nNotes from refinement: keep the change behind a feature flag until \
                     the acceptance criteria are checked in staging."
                ),
                story: StoryFields { as_a: format!("a {who}"), i_want: (*want).into(), so_that: (*why).into() },
                criteria: crit
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Criterion { id: i as i64 + 1, text: (*c).into(), checked: false })
                    .collect(),
                estimate: None,
                labels: labels.split(',').map(str::to_string).collect(),
                assignee_id: None,
                status_id: None,
                sprint_id: None,
                release_id: None,
            };
            let item = store.create_item(product.id, new, &Position::Bottom, &sys(created, Some(po))).await?;
            count += 1;
            // Estimated by the team in refinement a day later; the last story of each epic is
            // still waiting for its estimate, so the refinement view has work to show.
            let dev = team[(seq % 2) as usize];
            let item = if s + 1 == stories.len() {
                item
            } else {
                let est = ItemPatch {
                    estimate: Some(Some(Points::parse("estimate", *pts)?)),
                    ..Default::default()
                };
                store
                    .update_item(item.id, item.version, &est, &sys(created.plus_secs(DAY), Some(dev)))
                    .await?
            };
            // Earlier stories of each epic are further along: a realistic spread of states.
            let (progress, checked) = match s {
                0..=3 => (3, true),
                4 => (2, true),
                5 | 6 => (1, false),
                _ => (0, false),
            };
            let mut item = item;
            // The team takes the epics on one after another, a week apart, so the six weeks of
            // history fill the sprints evenly.
            let mut t_at = created.plus_secs(DAY * (2 + (seq % 5) + 7 * e as i64));
            if progress >= 1 {
                let p = ItemPatch {
                    assignee_id: Some(Some(dev)),
                    status: state(Category::InProgress, 0),
                    ..Default::default()
                };
                item = store.update_item(item.id, item.version, &p, &sys(t_at, Some(dev))).await?;
            }
            if progress >= 2 {
                t_at = t_at.plus_secs(DAY * (1 + seq % 4));
                let mut crit = item.criteria.clone();
                crit.iter_mut().for_each(|c| c.checked = checked);
                // Finished work has the Definition of Done ticked; the team asks for acceptance.
                let all_dod: Vec<i64> = DefinitionOfDone::default().checks.iter().map(|c| c.id).collect();
                let p = ItemPatch {
                    criteria: Some(crit),
                    status: state(Category::InProgress, 1),
                    dod: checked.then_some(all_dod),
                    acceptance: checked
                        .then(|| Acceptance { state: AcceptanceState::Ready, note: String::new() }),
                    ..Default::default()
                };
                item = store.update_item(item.id, item.version, &p, &sys(t_at, Some(dev))).await?;
            }
            if progress >= 3 {
                t_at = t_at.plus_secs(DAY);
                let p = ItemPatch {
                    status: state(Category::Done, 0),
                    acceptance: Some(Acceptance { state: AcceptanceState::Accepted, note: String::new() }),
                    ..Default::default()
                };
                store.update_item(item.id, item.version, &p, &sys(t_at, Some(po))).await?;
            }
        }
    }
    crate::demo_plan::seed(store, &product, &users[2], &users[4..6]).await?;
    crate::demo_pm::seed(app, &product, &users[0]).await?;
    crate::launch::seed_demo(app, &product, &users[0]).await?;
    talk(app, &product.key.to_string(), &users, admin).await?;
    Ok(Some(DemoInfo {
        product_key: product.key.to_string(),
        items: count,
        members: MEMBERS.iter().map(|(_, e, r)| format!("{e} ({})", r.as_str())).collect(),
        password,
    }))
}

/// Conversations on the work in progress: (item number, author as an index into [`MEMBERS`],
/// text). `{me}` is the handle of the person who asked for the demo (or the Product Owner's).
const TALK: &[(i64, usize, &str)] = &[
    (
        8,
        4,
        "The layout is in staging behind the `one_page_checkout` flag. @olivia could you look at \
            the address block on a 375 px screen before we ask for acceptance?",
    ),
    (
        8,
        2,
        "Checked on a small phone: delivery options wrap well. One thing: the **Pay** button sits \
            below the fold once a voucher is applied. @{me} is that acceptable for the first \
            release, or a blocker?",
    ),
    (
        7,
        5,
        "Expired codes now say why they were refused. Still open: a second code on the same \
            cart. The criteria don't say; @priya should it replace the first?",
    ),
    (7, 0, "Replace it, and tell the shopper which code was kept. I'll add that to the criteria."),
    (
        6,
        4,
        "Suggestions arrive in 120-180 ms on a throttled 4G profile, inside the 300 ms of the \
            criterion. @{me} ready for your review.",
    ),
    (
        20,
        5,
        "First cut of the synonyms screen is up. Merchandisers asked for a CSV upload; \
             @olivia worth a story of its own?",
    ),
    (20, 2, "Yes: I've noted it for refinement. @{me} FYI, this one will slip to the next sprint."),
];

/// Writes [`TALK`] through the comment use case, so the mentions, the watchers and the inbox
/// notifications come about as they would for real people.
async fn talk(app: &App, key: &str, users: &[User], admin: Option<&User>) -> AppResult<()> {
    use keel_domain::comment::{handle_of, Subject};
    let me = handle_of(admin.unwrap_or(&users[2]));
    for (number, author, text) in TALK {
        let t = app.comment_target(&users[*author], Subject::Item, &format!("{key}-{number}")).await?;
        let body = text.split_whitespace().collect::<Vec<_>>().join(" ").replace("{me}", &me);
        app.add_comment(&t, &body).await?;
    }
    Ok(())
}
