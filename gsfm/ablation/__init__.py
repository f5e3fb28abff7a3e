"""The ablation studies: what they are, their rows on disk, how they run, their statistics and
their sentences.

* :mod:`~gsfm.ablation.studies`: the studies as data (:data:`~gsfm.ablation.studies.STUDIES`);
* :mod:`~gsfm.ablation.schema`: the typed row schema the writer and the readers share;
* :mod:`~gsfm.ablation.store`: the CSV files, their lock, the upsert, reading one device's rows;
* :mod:`~gsfm.ablation.runner`: planning, training and scoring (``python -m gsfm ablate``);
* :mod:`~gsfm.ablation.speed`: the variants of a study timed together;
* :mod:`~gsfm.ablation.paper`: the paper's ablation numbers;
* :mod:`~gsfm.ablation.stats`: numbers in, numbers out (summaries, paired differences, buckets);
* :mod:`~gsfm.ablation.text`: the sentences rendered from them;
* :mod:`~gsfm.ablation.small_split`: Table 6 on ``synth-small-v1``;
* :mod:`~gsfm.ablation.report`: one call per study for notebooks 05–06.

Nothing is imported here, so that :mod:`gsfm.viz` can use the statistics without loading the
runner.
"""
