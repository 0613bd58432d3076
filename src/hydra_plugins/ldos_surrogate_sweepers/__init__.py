"""The project's Hydra sweepers, found by Hydra's plugin discovery (``hydra_plugins`` is a
namespace package). Each module registers its configs in the group ``hydra/sweeper`` and
defines thin Sweeper classes over `ldos_surrogate.search`; ``conf/hparams_search/`` selects
them."""
