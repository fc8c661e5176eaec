//! int8 export.
