//! The layer reader every source shares: a layer tar counted as the engine
//! counts it, streaming ([`tar`]), keeping only the package databases'
//! files ([`kept`]); the overlay of a stack of layers, which
//! names the bytes later layers hide ([`waste`]); and a byte stream read
//! ahead of its consumer on a task of its own ([`read_ahead`]).

pub mod kept;
pub(crate) mod read_ahead;
pub mod tar;
pub mod waste;

pub use self::tar::{
    Compression, ESTIMATE_CHUNK, KnownLayer, LayerError, LayerStats, layer_size, layer_stats,
    pass_known,
};
pub(crate) use self::tar::{decompress, describe};
