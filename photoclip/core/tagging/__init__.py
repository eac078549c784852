"""Custom labels and auto-tagging: prompt ensembles, calibrated thresholds, feedback.

How a label decides a tag, and where each step lives:

* names.py: what a label name may be ("Animals/Dogs", levels split by '/').
* labels.py: labels and their description phrases (create, rename, delete).
* labelfiles.py: sharing label sets as JSON files, and the starter set.
* manual.py: tags put on or taken off by hand (a removal is kept as a rejection).
* prompts.py: a label's text vector is a prompt ensemble: every photo template filled
  with the label's leaf name plus its descriptions as written; each text embedding is
  normalised, the set averaged and renormalised. Embeddings are cached per (model id,
  exact text), so re-tagging embeds nothing it has embedded before.
* vectors.py: feedback moves the vector, Rocchio style, always recomputed from the
  ensemble and all verdicts so far.
* calibration.py: thresholds relative to the label's score distribution (robust z),
  provisional while an index pass is under way.
* apply.py: the decision (threshold and background rule) and writing auto tags: a
  whole-library run, new photos as they are indexed, and the end of a pass.
* ranking.py: one label over the library (histogram, preview, the user's threshold)
  and one photo's best labels.
* verdict_line.py: where the line goes once there are verdicts (pure, simulated).
* verdicts.py: confirm / reject feedback moving thresholds and vectors.
* suggest.py: labels suggested by the library (k-means groups named from a vocabulary).

Tags: auto tags carry source 'auto' and their score; manual tags are never changed
by auto-tagging; applying a label rewrites only that label's auto tags. All SQL lives
in photoclip.core.db.labels and photoclip.core.db.tags.

Everything other packages use is re-exported here: `from photoclip.core import
tagging; tagging.apply_labels(...)`. Code that replaces a function for a test must
replace it in the module that calls it (e.g. `tagging.verdicts.apply_labels`).
"""

from __future__ import annotations

from photoclip.core.tagging.apply import (
    BACKGROUND_MARGIN,
    TagProgress,
    apply_labels,
    decide,
    finish_pass,
    past_line,
    provisional_labels,
    run_to_end,
    tag_photos,
)
from photoclip.core.tagging.calibration import (
    CALIBRATION_SAMPLE,
    DEFAULT_Z,
    GROWTH_FACTOR,
    MIN_SCALE,
    ScoreStats,
    effective_threshold,
    needs_calibration,
    recalibrate,
    score_stats,
)
from photoclip.core.tagging.labelfiles import (
    LABELS_FORMAT,
    MAX_LABEL_FILE,
    LabelSpec,
    add_label_specs,
    add_starter_labels,
    export_labels,
    import_labels,
    read_label_file,
    starter_labels,
)
from photoclip.core.tagging.labels import (
    Label,
    create_label,
    delete_label,
    did_you_mean,
    ensure_label,
    find_label,
    get_label,
    list_labels,
    looks_for_something_else,
    rename_label,
    set_descriptions,
    set_ignore_background,
)
from photoclip.core.tagging.manual import Tag, add_tag, photo_tags, photos_with_label, rejected_labels, remove_tag, tag_counts
from photoclip.core.tagging.names import LabelError, check_new_name, normalize_name
from photoclip.core.tagging.prompts import BACKGROUND_PROMPTS, TEMPLATES, TEXT_BATCH, Cancelled, ensemble, prompts_for, text_vectors
from photoclip.core.tagging.ranking import LabelMatch, LabelScores, label_scores, set_threshold, top_labels
from photoclip.core.tagging.suggest import Suggestion, suggest_labels, vocabulary
from photoclip.core.tagging.vectors import (
    CHUNK_SIZE,
    ROCCHIO_A,
    ROCCHIO_B,
    ROCCHIO_C,
    LabelVectors,
    label_vector,
    label_vectors,
    rocchio,
    score_matrix,
)
from photoclip.core.tagging.verdict_line import line_after_verdict
from photoclip.core.tagging.verdicts import FeedbackResult, feedback, feedback_many

__all__ = [
    "BACKGROUND_MARGIN",
    "BACKGROUND_PROMPTS",
    "CALIBRATION_SAMPLE",
    "CHUNK_SIZE",
    "DEFAULT_Z",
    "GROWTH_FACTOR",
    "LABELS_FORMAT",
    "MAX_LABEL_FILE",
    "MIN_SCALE",
    "ROCCHIO_A",
    "ROCCHIO_B",
    "ROCCHIO_C",
    "TEMPLATES",
    "TEXT_BATCH",
    "Cancelled",
    "FeedbackResult",
    "Label",
    "LabelError",
    "LabelMatch",
    "LabelScores",
    "LabelSpec",
    "LabelVectors",
    "ScoreStats",
    "Suggestion",
    "Tag",
    "TagProgress",
    "add_label_specs",
    "add_starter_labels",
    "add_tag",
    "apply_labels",
    "check_new_name",
    "create_label",
    "decide",
    "delete_label",
    "did_you_mean",
    "effective_threshold",
    "ensemble",
    "ensure_label",
    "export_labels",
    "feedback",
    "feedback_many",
    "find_label",
    "finish_pass",
    "get_label",
    "import_labels",
    "label_scores",
    "label_vector",
    "label_vectors",
    "line_after_verdict",
    "list_labels",
    "looks_for_something_else",
    "needs_calibration",
    "normalize_name",
    "past_line",
    "photo_tags",
    "photos_with_label",
    "prompts_for",
    "provisional_labels",
    "read_label_file",
    "recalibrate",
    "rejected_labels",
    "remove_tag",
    "rename_label",
    "rocchio",
    "run_to_end",
    "score_matrix",
    "score_stats",
    "set_descriptions",
    "set_ignore_background",
    "set_threshold",
    "starter_labels",
    "suggest_labels",
    "tag_counts",
    "tag_photos",
    "text_vectors",
    "top_labels",
    "vocabulary",
]
