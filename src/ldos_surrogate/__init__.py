"""ldos-surrogate: neural-network surrogates of Kohn-Sham DFT.

SNAP descriptors of the atoms around each real-space grid point are mapped to the
local density of states (LDOS); from the LDOS follow the band energy, the total free
energy and the electronic density.

References (README.md and CITATION.cff give them in full). "Eq. N" and "seed Eq. N" in the
docstrings of every module are the equations of the seed paper:

- the seed paper: L. Fiedler, N. Hoffmann, P. Mohammed, G. A. Popoola, T. Yovell, V. Oles,
  J. A. Ellis, S. Rajamanickam, A. Cangi, "Training-free hyperparameter optimization of neural
  networks for electronic structures in matter", Mach. Learn.: Sci. Technol. 3, 045008
  (2022), doi:10.1088/2632-2153/ac9956.
- NASWOT: J. Mellor, J. Turner, A. Storkey, E. J. Crowley, "Neural Architecture Search
  without Training", ICML 2021 (PMLR 139), arXiv:2006.04647.
- SNAP: A. P. Thompson, L. P. Swiler, C. R. Trott, S. M. Foiles, G. J. Tucker, "Spectral
  neighbor analysis method for automated generation of quantum-accurate interatomic
  potentials", J. Comput. Phys. 285, 316 (2015), doi:10.1016/j.jcp.2014.12.018.
- MALA: J. A. Ellis, L. Fiedler, G. A. Popoola, N. A. Modine, J. A. Stephens, A. P. Thompson,
  A. Cangi, S. Rajamanickam, "Accelerating finite-temperature Kohn-Sham density functional
  theory with deep neural networks", Phys. Rev. B 104, 035120 (2021),
  doi:10.1103/PhysRevB.104.035120; the MALA package 1.4.0, the reference implementation.
"""

from pathlib import Path

__version__ = "0.1.0"

# The shipped Hydra configs (train.yaml, search.yaml and their groups), package data.
CONFIG_DIR = Path(__file__).resolve().parent / "conf"
