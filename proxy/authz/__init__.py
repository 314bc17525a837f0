"""Authorization of authenticated callers: SubjectAccessReview or a static policy."""
