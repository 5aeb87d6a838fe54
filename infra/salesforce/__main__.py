"""`python -m infra.salesforce`: regenerate the committed metadata from the field table."""

from infra.salesforce.metadata import ROOT, write

if __name__ == "__main__":
    for path in write():
        print(path.relative_to(ROOT))
