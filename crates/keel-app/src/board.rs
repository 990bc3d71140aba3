//! Boards (scrum and kanban), WIP limits, workflow editing.
