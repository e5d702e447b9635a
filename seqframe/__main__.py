"""``python -m seqframe`` runs the command line (also what ``torchrun -m seqframe`` uses)."""

from .cli import main

if __name__ == "__main__":
    main()
