"""ldos-surrogate: neural-network surrogates of Kohn-Sham DFT.

SNAP descriptors of the atoms around each real-space grid point are mapped to the
local density of states (LDOS); from the LDOS follow the band energy, the total free
energy and the electronic density.
"""

__version__ = "0.1.0"
