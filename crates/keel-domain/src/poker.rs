//! Planning poker rounds and questions.
