"""Legal erasure requests (GDPR Art. 17, UK GDPR, CCPA/CPRA): laws, deadlines, states, letters, exports.

Qt-free. The ErasureTracker (tracker.py) is what the Deletions page uses; storage is app.storage.erasure_repo.
"""
