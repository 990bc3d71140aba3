//! Wire types: boards (scrum and kanban), WIP limits, workflow editing.
