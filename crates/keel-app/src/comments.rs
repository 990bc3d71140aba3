//! Comments, watchers and the inbox. Comments, watch choices and notifications are records; a
//! notification is written in the same batch as the change that causes it, so none is lost and
//! every server process sees the same inbox.

use crate::records::{new_record, to_data, RecordKind, Stored};
use crate::{App, AppError, AppResult, ProductAccess};
use keel_domain::comment::{
    excerpt, handle_of, parse_mentions, recipients, resolve_mentions, watchers, Comment, Notification,
    Reason, Subject, Watch, MAX_BODY,
};
use keel_domain::discovery::{Feedback, Opportunity};
use keel_domain::event::ObjectKind;
use keel_domain::item::{Item, ItemKey};
use keel_domain::pm::Initiative;
use keel_domain::sprint::Release;
use keel_domain::user::User;
use keel_domain::{ProductId, RecordId, UserId};
use keel_store::{RecordFilter, StoreError, WriteOp, Written};
use std::collections::BTreeSet;

impl RecordKind for Comment {
    const KIND: ObjectKind = ObjectKind::Comment;
}

impl RecordKind for Notification {
    const KIND: ObjectKind = ObjectKind::Notification;
}

impl RecordKind for Watch {
    const KIND: ObjectKind = ObjectKind::Watch;
}

/// An object people comment on, with the caller's access to its product.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its kind.
    pub subject: Subject,
    /// Its id.
    pub id: i64,
    /// The caller's access to its product.
    pub access: ProductAccess,
    /// How it is named (an item's key and title, a release's name…).
    pub label: String,
    /// Its page.
    pub link: String,
    /// Who watches it without asking: its creator and assignee.
    pub implied: Vec<UserId>,
    /// Whether members who see only the public roadmap are kept from it (a non-public
    /// initiative): they are then neither mentioned nor notified.
    pub public_only_hidden: bool,
}

/// A comment with its author's name.
#[derive(Debug, Clone)]
pub struct CommentView {
    /// The stored comment.
    pub comment: Stored<Comment>,
    /// The author's name.
    pub author: String,
}

fn check_body(body: &str) -> AppResult<String> {
    let b = body.trim_end();
    if b.trim().is_empty() {
        return Err(AppError::invalid("body", "must not be empty"));
    }
    if b.chars().count() > MAX_BODY {
        return Err(AppError::invalid("body", format!("must be at most {MAX_BODY} characters")));
    }
    Ok(b.to_string())
}

fn written_record(w: Option<Written>) -> AppResult<keel_store::Record> {
    match w {
        Some(Written::Record(r)) => Ok(r),
        _ => Err(AppError::Internal(StoreError::invalid("ops", "the batch wrote no record"))),
    }
}

impl App {
    /// The object `reference` names (an item key, or a record id for the other kinds), for a
    /// reader of its product (404 otherwise).
    pub async fn comment_target(&self, user: &User, subject: Subject, reference: &str) -> AppResult<Target> {
        if subject == Subject::Item {
            let k = ItemKey::parse("key", reference).map_err(|_| AppError::NotFound)?;
            let access = self.access(user, k.product.as_str()).await?;
            let item = self.item(&access, reference).await?;
            return Ok(self.item_target(access, &item));
        }
        let id: i64 = reference.parse().map_err(|_| AppError::NotFound)?;
        self.record_target(user, subject, id).await
    }

    /// The target of an item already read.
    pub fn item_target(&self, access: ProductAccess, item: &Item) -> Target {
        let mut implied: Vec<UserId> = item.created_by.into_iter().collect();
        implied.extend(item.assignee_id);
        Target {
            subject: Subject::Item,
            id: item.id.0,
            label: format!("{} {}", item.key, item.title),
            link: format!("/items/{}", item.key),
            implied,
            public_only_hidden: false,
            access,
        }
    }

    async fn record_target(&self, user: &User, subject: Subject, id: i64) -> AppResult<Target> {
        let r = self.store.record(RecordId(id)).await?;
        if r.kind != subject.kind() {
            return Err(AppError::NotFound);
        }
        let product = r.product_id.ok_or(AppError::NotFound)?;
        let access = self.access_by_id(user, product).await?;
        let created_by = r.created_by;
        let mut public_only_hidden = false;
        let (label, link) = match subject {
            Subject::Initiative => {
                let s = Stored::<Initiative>::from_record(r)?;
                // Stakeholders see only the public roadmap: other initiatives do not exist for them.
                if crate::portfolio::roadmap_public_only(&access) && !s.data.plan.public {
                    return Err(AppError::NotFound);
                }
                public_only_hidden = !s.data.plan.public;
                (s.data.title, format!("/initiatives/{id}/outcomes"))
            }
            Subject::Opportunity => {
                let s = Stored::<Opportunity>::from_record(r)?;
                (s.data.title, format!("/opportunities/{id}"))
            }
            Subject::Feedback => {
                let s = Stored::<Feedback>::from_record(r)?;
                (excerpt(&s.data.text, 60), format!("/feedback/{id}"))
            }
            Subject::Release => {
                let s = Stored::<Release>::from_record(r)?;
                (format!("Release {}", s.data.name), format!("/releases/{id}"))
            }
            Subject::Item | Subject::Proposal => return Err(AppError::NotFound),
        };
        Ok(Target {
            subject,
            id,
            access,
            label,
            link,
            implied: created_by.into_iter().collect(),
            public_only_hidden,
        })
    }

    async fn raw_comments(&self, t: &Target) -> AppResult<Vec<Stored<Comment>>> {
        let f = RecordFilter::of(ObjectKind::Comment)
            .product(t.access.product.id)
            .parent(t.id)
            .states(&[t.subject.as_str()]);
        Ok(self.list_records::<Comment>(f).await?.into_iter().filter(|c| c.data.object_id == t.id).collect())
    }

    /// The comments on a target, oldest first, with their authors' names.
    pub async fn comments(&self, t: &Target) -> AppResult<Vec<CommentView>> {
        let members = self.store.members(t.access.product.id).await?;
        let mut out = Vec::new();
        for c in self.raw_comments(t).await? {
            let author = match c.created_by {
                Some(uid) => match members.iter().find(|(u, _)| u.id == uid) {
                    Some((u, _)) => u.name.clone(),
                    None => self.store.user(uid).await.map(|u| u.name).unwrap_or_default(),
                },
                None => String::new(),
            };
            out.push(CommentView { comment: c, author });
        }
        Ok(out)
    }

    /// The people watching a target: creator, assignee, commenters and mentioned people, plus
    /// explicit watchers, minus those who stopped.
    pub async fn watchers_of(&self, t: &Target) -> AppResult<BTreeSet<UserId>> {
        let mut implied = t.implied.clone();
        for c in self.raw_comments(t).await? {
            implied.extend(c.created_by);
            implied.extend(c.data.mentions.iter().copied());
        }
        let choices = self.watch_choices(t).await?;
        Ok(watchers(&implied, &choices.iter().map(|w| w.data.clone()).collect::<Vec<_>>()))
    }

    async fn watch_choices(&self, t: &Target) -> AppResult<Vec<Stored<Watch>>> {
        let f = RecordFilter::of(ObjectKind::Watch)
            .product(t.access.product.id)
            .parent(t.id)
            .states(&[t.subject.as_str()]);
        Ok(self.list_records::<Watch>(f).await?.into_iter().filter(|w| w.data.object_id == t.id).collect())
    }

    /// Whether the caller watches the target.
    pub async fn is_watching(&self, t: &Target) -> AppResult<bool> {
        Ok(self.watchers_of(t).await?.contains(&t.access.user.id))
    }

    /// Starts or stops the caller watching the target.
    pub async fn set_watching(&self, t: &Target, watching: bool) -> AppResult<bool> {
        let me = t.access.user.id;
        let data = Watch { user: me, subject: t.subject, object_id: t.id, watching };
        let key = Watch::key(t.subject, t.id, me);
        let op = match self.store.record_by_key(ObjectKind::Watch, &key).await {
            Ok(r) => WriteOp::UpdateRecord {
                id: r.id,
                expected_version: None,
                state: None,
                data: to_data(&data)?,
                refs: Vec::new(),
            },
            Err(StoreError::NotFound) => WriteOp::CreateRecord(new_record(
                Some(t.access.product.id),
                Some(t.id),
                t.subject.as_str(),
                Some(key),
                &data,
            )?),
            Err(e) => return Err(e.into()),
        };
        self.store.write_batch(vec![op], &self.ctx(&t.access.user)).await?;
        Ok(watching)
    }

    /// The product's members who may see `t`, and the ids of the active ones among them.
    async fn member_ids(&self, t: &Target) -> AppResult<(Vec<User>, BTreeSet<UserId>)> {
        let members: Vec<User> = self
            .store
            .members(t.access.product.id)
            .await?
            .into_iter()
            .filter(|(u, roles)| {
                let view =
                    ProductAccess { user: u.clone(), product: t.access.product.clone(), roles: *roles };
                !(t.public_only_hidden && crate::portfolio::roadmap_public_only(&view))
            })
            .map(|(u, _)| u)
            .collect();
        let ids = members.iter().filter(|u| u.is_active).map(|u| u.id).collect();
        Ok((members, ids))
    }

    /// The operation writing one notification to `to` about `t`.
    pub fn notification_op(
        &self,
        t: &Target,
        to: UserId,
        reason: Reason,
        text: String,
    ) -> AppResult<WriteOp> {
        let access = &t.access;
        let n = Notification {
            user: to,
            reason,
            actor: Some(access.user.id),
            actor_name: access.user.name.clone(),
            subject: t.subject,
            object_id: t.id,
            label: t.label.clone(),
            link: t.link.clone(),
            text,
        };
        Ok(WriteOp::CreateRecord(keel_store::notification_record(access.product.id, &n)?))
    }

    /// Posts a comment: mentioned members and the other watchers are notified in the same
    /// batch. Anyone who may read the product may comment.
    pub async fn add_comment(&self, t: &Target, body: &str) -> AppResult<Stored<Comment>> {
        let body = check_body(body)?;
        let (members, member_ids) = self.member_ids(t).await?;
        let mentions = resolve_mentions(&parse_mentions(&body), &members);
        let watching = self.watchers_of(t).await?;
        let comment = Comment {
            subject: t.subject,
            object_id: t.id,
            body: body.clone(),
            mentions: mentions.clone(),
            edited: false,
            deleted: false,
        };
        let mut ops = vec![WriteOp::CreateRecord(new_record(
            Some(t.access.product.id),
            Some(t.id),
            t.subject.as_str(),
            None,
            &comment,
        )?)];
        let me = t.access.user.id;
        let text = excerpt(&body, 140);
        let mentioned = recipients(mentions.iter().copied(), me, &member_ids);
        for &u in &mentioned {
            ops.push(self.notification_op(t, u, Reason::Mention, text.clone())?);
        }
        for u in recipients(watching.iter().copied(), me, &member_ids) {
            if !mentioned.contains(&u) {
                ops.push(self.notification_op(t, u, Reason::Comment, text.clone())?);
            }
        }
        let w = self.store.write_batch(ops, &self.ctx(&t.access.user)).await?;
        Stored::from_record(written_record(w.into_iter().next())?)
    }

    /// A comment and the target it is on, for a reader of its product.
    pub async fn comment_by_id(&self, user: &User, id: RecordId) -> AppResult<(Stored<Comment>, Target)> {
        let c = self.get_record::<Comment>(id).await?;
        let t = if c.data.subject == Subject::Item {
            let product = c.product_id.ok_or(AppError::NotFound)?;
            let access = self.access_by_id(user, product).await?;
            let item = self.store.item(keel_domain::ItemId(c.data.object_id)).await?;
            if item.product_id != product {
                return Err(AppError::NotFound);
            }
            self.item_target(access, &item)
        } else {
            self.record_target(user, c.data.subject, c.data.object_id).await?
        };
        Ok((c, t))
    }

    /// Edits one's own comment; the events keep the old text. Members newly mentioned are notified.
    pub async fn edit_comment(
        &self,
        user: &User,
        id: RecordId,
        body: &str,
        expected_version: Option<i64>,
    ) -> AppResult<Stored<Comment>> {
        let (c, t) = self.comment_by_id(user, id).await?;
        if c.created_by != Some(user.id) {
            return Err(AppError::NotYours("only its author may edit a comment".into()));
        }
        if c.data.deleted {
            return Err(AppError::Conflict("the comment is deleted".into()));
        }
        let body = check_body(body)?;
        let (members, member_ids) = self.member_ids(&t).await?;
        let mentions = resolve_mentions(&parse_mentions(&body), &members);
        let mut data = c.data.clone();
        if data.body == body {
            return Ok(c);
        }
        let new_mentions: Vec<UserId> =
            mentions.iter().copied().filter(|u| !c.data.mentions.contains(u)).collect();
        data.body = body.clone();
        data.mentions = mentions;
        data.edited = true;
        let mut ops = vec![WriteOp::UpdateRecord {
            id: c.id,
            expected_version: Some(expected_version.unwrap_or(c.version)),
            state: None,
            data: to_data(&data)?,
            refs: Vec::new(),
        }];
        for u in recipients(new_mentions, user.id, &member_ids) {
            ops.push(self.notification_op(&t, u, Reason::Mention, excerpt(&body, 140))?);
        }
        let w = self.store.write_batch(ops, &self.ctx(user)).await?;
        Stored::from_record(written_record(w.into_iter().next())?)
    }

    /// Deletes a comment (softly: it shows as deleted, the events keep its text). The author or
    /// an administrator may.
    pub async fn delete_comment(&self, user: &User, id: RecordId) -> AppResult<Stored<Comment>> {
        let (c, _) = self.comment_by_id(user, id).await?;
        if c.created_by != Some(user.id) && !user.is_admin {
            return Err(AppError::NotYours(
                "only its author or an administrator may delete a comment".into(),
            ));
        }
        if c.data.deleted {
            return Ok(c);
        }
        let mut data = c.data.clone();
        data.body = String::new();
        data.mentions.clear();
        data.deleted = true;
        let op = WriteOp::UpdateRecord {
            id: c.id,
            expected_version: Some(c.version),
            state: None,
            data: to_data(&data)?,
            refs: Vec::new(),
        };
        let w = self.store.write_batch(vec![op], &self.ctx(user)).await?;
        Stored::from_record(written_record(w.into_iter().next())?)
    }

    /// The notifications to write for a change of an item: its new assignee, and the watchers of
    /// a status change. Returned as operations for the change's own batch.
    pub async fn item_change_notifications(
        &self,
        access: &ProductAccess,
        old: &Item,
        new: &Item,
        status_name: Option<String>,
    ) -> AppResult<Vec<WriteOp>> {
        let assigned = new.assignee_id.filter(|a| Some(*a) != old.assignee_id);
        let status = old.status_id != new.status_id;
        if assigned.is_none() && !status {
            return Ok(Vec::new());
        }
        let t = self.item_target(access.clone(), new);
        let (_, member_ids) = self.member_ids(&t).await?;
        let me = access.user.id;
        let mut ops = Vec::new();
        let assigned_to = recipients(assigned, me, &member_ids);
        for &u in &assigned_to {
            ops.push(self.notification_op(&t, u, Reason::Assigned, "assigned to you".into())?);
        }
        if status {
            let mut implied_old = self.item_target(access.clone(), old);
            implied_old.implied.extend(t.implied.iter().copied());
            let watching = self.watchers_of(&implied_old).await?;
            let text = format!("status changed to {}", status_name.unwrap_or_default());
            for u in recipients(watching, me, &member_ids) {
                if !assigned_to.contains(&u) {
                    ops.push(self.notification_op(&t, u, Reason::Status, text.clone())?);
                }
            }
        }
        Ok(ops)
    }

    /// The caller's notifications, newest first (at most `limit`), only from products they are
    /// still a member of.
    pub async fn notifications(
        &self,
        user: &User,
        unread_only: bool,
        limit: usize,
    ) -> AppResult<Vec<Stored<Notification>>> {
        let mut f = RecordFilter::of(ObjectKind::Notification).parent(user.id.0);
        if unread_only {
            f = f.states(&["unread"]);
        }
        let mine: BTreeSet<ProductId> =
            self.store.products_of(user.id).await?.into_iter().map(|(p, _)| p.id).collect();
        let mut all: Vec<Stored<Notification>> = self
            .list_records::<Notification>(f)
            .await?
            .into_iter()
            .filter(|n| n.data.user == user.id && n.product_id.is_some_and(|p| mine.contains(&p)))
            .collect();
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }

    /// How many unread notifications the caller has.
    pub async fn unread_count(&self, user: &User) -> AppResult<usize> {
        Ok(self.notifications(user, true, usize::MAX).await?.len())
    }

    /// Marks one of the caller's notifications read.
    pub async fn mark_read(&self, user: &User, id: RecordId) -> AppResult<Stored<Notification>> {
        let n = self.get_record::<Notification>(id).await?;
        if n.data.user != user.id {
            return Err(AppError::NotFound);
        }
        if n.state == "read" {
            return Ok(n);
        }
        let op = WriteOp::UpdateRecord {
            id: n.id,
            expected_version: None,
            state: Some("read".into()),
            data: to_data(&n.data)?,
            refs: Vec::new(),
        };
        let w = self.store.write_batch(vec![op], &self.ctx(user)).await?;
        Stored::from_record(written_record(w.into_iter().next())?)
    }

    /// Marks all the caller's notifications read; returns how many changed.
    pub async fn mark_all_read(&self, user: &User) -> AppResult<usize> {
        let f = RecordFilter::of(ObjectKind::Notification).parent(user.id.0).states(&["unread"]);
        let unread: Vec<Stored<Notification>> = self
            .list_records::<Notification>(f)
            .await?
            .into_iter()
            .filter(|n| n.data.user == user.id)
            .collect();
        let mut ops = Vec::new();
        for n in &unread {
            ops.push(WriteOp::UpdateRecord {
                id: n.id,
                expected_version: None,
                state: Some("read".into()),
                data: to_data(&n.data)?,
                refs: Vec::new(),
            });
        }
        if !ops.is_empty() {
            self.store.write_batch(ops, &self.ctx(user)).await?;
        }
        Ok(unread.len())
    }

    /// The handles by which the members who may see `t` are mentioned, with their names.
    pub async fn mention_handles(&self, t: &Target) -> AppResult<Vec<(String, String)>> {
        let (members, _) = self.member_ids(t).await?;
        Ok(members.iter().filter(|u| u.is_active).map(|u| (handle_of(u), u.name.clone())).collect())
    }
}
