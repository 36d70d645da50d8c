"""The course's tooling, apart from the library: the chapter registry, the series runner, the book, Colab, the lock.

The library (`history_of_interpretation`) explains models; this package makes
the course around it: running the chapters (`series`), checking their figures
and prose (`fingerprints`, `nbval_numbers`, `prose`), the HTML book (`book`),
Colab's set-up (`colab`, `colab_cells`) and the lock (`lock`).
"""
