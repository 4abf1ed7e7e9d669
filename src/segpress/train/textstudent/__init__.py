"""The text student: a small network trained here to find text lines at the image's own scale.

``scenes`` draws the training pictures (text on real photos, with the line cores to learn), ``network``
is ``TextStudent``, ``fit`` trains and exports it; ``python -m segpress.train.textstudent`` runs them.
"""
