"""The French labels of the contract's submission statuses and finding severities.

The one Python place for them: correction workbooks, the stewards' overview and the bilan read
them here (the BI views of ``sql/bi`` spell the same labels in SQL). The order of
``STATUS_LABELS`` is the order in which people see statuses listed.
"""

STATUS_LABELS = {
    "missing": "Manquant",
    "rejected": "Rejeté",
    "empty": "Vide",
    "loaded_with_errors": "Chargé avec erreurs",
    "loaded": "Chargé",
    "superseded": "Remplacé",
    "held": "En attente de décision",
    "excluded": "Écarté par un référent",
}
SEVERITY_LABELS = {"error": "Erreur", "warning": "Avertissement"}
