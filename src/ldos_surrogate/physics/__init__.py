"""From an LDOS to the quantities of DFT, in numpy/torch (no compiled DFT module).

Units: eV, Angstrom, K; LDOS in states/(eV Angstrom^3), DOS in states/eV, density in
electrons/Angstrom^3. Equation numbers are those of the seed paper (Fiedler et al., Mach. Learn.:
Sci. Technol. 3, 045008 (2022); all references: the docstring of `ldos_surrogate`).

- constants:      CODATA 2018 constants as QE 6.7 uses them
- occupation:     Fermi-Dirac f and entropy density s
- polylog, integrals: exact integrals of f, eps f and s against a piecewise-linear DOS
- dos:            DOS (Eq. 5) and density (Eq. 6) from the LDOS; bad-value policy
- fermi:          electron count and the Fermi level (bracketed root find)
- band_energy:    E_b and -TS at the Fermi level, torch-differentiable
- grid, hartree, xc, ewald: the density and ion terms of the total energy
- pseudopotential: valence charge and functional from a UPF header
- total_energy:   the total free energy (Eq. 7)
"""
