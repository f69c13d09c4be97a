/* buf: a bounded growable byte buffer with an explicit take (curl's dynbuf).
 * The content is always NUL-terminated (not counted in len). */
#ifndef GPC_BUF_H
#define GPC_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* growing past this fails */
};

/* Initialise an empty buffer that may grow to `max` bytes. No allocation. */
void buf_init(struct buf *b, size_t max);

/* Free the content and reset to empty (keeps max). */
void buf_finish(struct buf *b);

/* Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* Append; return 0, or -1 (ENOMEM or past max; the buffer is unchanged). */
int buf_add(struct buf *b, const void *data, size_t len) __attribute__((warn_unused_result));
int buf_adds(struct buf *b, const char *s) __attribute__((warn_unused_result));
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3), warn_unused_result));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((warn_unused_result, format(printf, 2, 0)));

/* Move the content out: returns a malloc'd NUL-terminated string (caller frees;
 * never NULL unless allocation fails), stores its length in *len if non-NULL,
 * and leaves the buffer empty. */
char *buf_take(struct buf *b, size_t *len);

#endif
