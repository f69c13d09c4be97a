/* notify: alerts to ntfy, Gotify, webhooks and programs (see notify.h). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "buf.h"
#include "fsutil.h"
#include "gpc_spawn.h"
#include "log.h"
#include "notify.h"
#include "timeutil.h"

#define NOTIFY_MAX_RECORD (256u * 1024)
#define NOTIFY_TRIES 3
#define NOTIFY_PROGRAM_MS 60000L

void notify_target_free(struct notify_target *t)
{
	if (t == NULL)
		return;
	free(t->kind);
	if (t->url)
		explicit_bzero(t->url, strlen(t->url));
	free(t->url);
	if (t->token)
		explicit_bzero(t->token, strlen(t->token));
	free(t->token);
	free(t->topic);
	free(t->tmpl);
	free(t->payload);
	free(t->mime);
	free(t->method);
	free(t->name);
	free(t->events);
	free(t);
}

static const char *const event_classes[] = { "failed", "issued", "renewed", NULL };

bool notify_target_wants(const struct notify_target *t, const char *cls)
{
	const char *p = t->events;
	size_t n = strlen(cls);
	if (p == NULL || *p == '\0')
		return strcmp(cls, "failed") == 0;
	while (*p) {
		size_t w = strcspn(p, ",");
		if (w == n && strncmp(p, cls, n) == 0)
			return true;
		p += w;
		if (*p == ',')
			p++;
	}
	return false;
}

static bool is_http_url(const char *u)
{
	return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0;
}

/* scheme://host[:port] of url into out (no path, no user info). */
static void url_origin(const char *url, char *out, size_t outsz)
{
	const char *p = strstr(url, "://"), *h, *end, *at;
	if (p == NULL) {
		snprintf(out, outsz, "?");
		return;
	}
	h = p + 3;
	end = h + strcspn(h, "/?#;");
	at = memchr(h, '@', (size_t)(end - h));
	if (at)
		h = at + 1;
	snprintf(out, outsz, "%.*s%.*s", (int)(p + 3 - url), url, (int)(end - h), h);
}

char *notify_target_redacted(const struct notify_target *t, char *out, size_t outsz)
{
	char origin[256];
	if (strcmp(t->kind, "program") == 0) {
		snprintf(out, outsz, "program:%s", t->url);
		return out;
	}
	url_origin(t->url, origin, sizeof(origin));
	snprintf(out, outsz, "%s%s%s%s:%s/…", t->name ? t->name : "", t->name ? " (" : "",
		 t->tmpl ? t->tmpl : t->kind, t->name ? ")" : "", origin);
	return out;
}

/* Split "KEY=VALUE" parameters (after ';') into t. */
static int take_param(struct notify_target *t, const char *kind, char *kv, struct gpc_error *err)
{
	char *eq = strchr(kv, '=');
	char **f = NULL;
	if (eq == NULL) /* the value is not quoted: it may be a token */
		return gpc_error_set(err, GPC_E_USAGE, "--notify %s:...: a ';' parameter is not KEY=VALUE "
				     "(token, topic, template, payload, mime, method, name)", kind);
	*eq = '\0';
	if (strcmp(kv, "token") == 0) f = &t->token;
	else if (strcmp(kv, "topic") == 0) f = &t->topic;
	else if (strcmp(kv, "template") == 0) f = &t->tmpl;
	else if (strcmp(kv, "payload") == 0) f = &t->payload;
	else if (strcmp(kv, "mime") == 0 || strcmp(kv, "mime_type") == 0) f = &t->mime;
	else if (strcmp(kv, "method") == 0) f = &t->method;
	else if (strcmp(kv, "name") == 0) f = &t->name;
	else if (strcmp(kv, "events") == 0) f = &t->events;
	if (f == NULL) {
		gpc_error_set(err, GPC_E_USAGE, "--notify %s:...: unknown parameter '%.40s'", kind, kv);
		return gpc_error_hint(err, "parameters: ;token= ;topic= ;template=discord|slack ;payload= ;mime= "
				      ";method= ;name= ;events=failed,issued,renewed");
	}
	free(*f);
	*f = strdup(eq + 1);
	return *f ? 0 : gpc_error_set(err, GPC_E_NOMEM, "out of memory");
}

int notify_target_check(struct notify_target *t, const char *what, struct gpc_error *err)
{
	for (const char *p = t->events; p && *p;) {
		size_t w = strcspn(p, ","), i;
		for (i = 0; event_classes[i]; i++)
			if (strlen(event_classes[i]) == w && strncmp(p, event_classes[i], w) == 0)
				break;
		if (event_classes[i] == NULL) {
			gpc_error_set(err, GPC_E_USAGE, "%s: events: '%.*s' is not an event class", what,
				      (int)(w > 40 ? 40 : w), p);
			return gpc_error_hint(err, "events=failed,issued,renewed (failed: every problem and its "
					      "recovery; the default)");
		}
		p += w;
		if (*p == ',')
			p++;
	}
	if (strcmp(t->kind, "program") == 0) {
		if (t->url[0] != '/')
			return gpc_error_set(err, GPC_E_USAGE, "%s: program '%s' is not an absolute path", what, t->url);
		if (access(t->url, X_OK) != 0)
			return gpc_error_set(err, GPC_E_USAGE, "%s: '%s' is not an executable program (%s)", what,
					     t->url, strerror(errno));
		return 0;
	}
	if (!is_http_url(t->url)) {
		gpc_error_set(err, GPC_E_USAGE, "%s: the %s target's URL must start with http:// or https://", what,
			      t->kind);
		return gpc_error_hint(err, "e.g. --notify ntfy:https://ntfy.sh/TOPIC");
	}
	if (t->tmpl && strcmp(t->tmpl, "discord") && strcmp(t->tmpl, "slack")) {
		gpc_error_set(err, GPC_E_USAGE, "%s: unknown webhook template '%s'", what, t->tmpl);
		return gpc_error_hint(err, "templates: discord, slack; or a custom payload with $title and $message");
	}
	if (t->method && strcmp(t->method, "POST") && strcmp(t->method, "PUT"))
		return gpc_error_set(err, GPC_E_USAGE, "%s: method '%s': only POST or PUT", what, t->method);
	if (strcmp(t->kind, "gotify") == 0 && t->token == NULL && strstr(t->url, "token=") == NULL) {
		gpc_error_set(err, GPC_E_USAGE, "%s: a gotify target needs the application token", what);
		return gpc_error_hint(err, "--notify 'gotify:https://HOST?token=TOKEN'");
	}
	return 0;
}

int notify_target_parse(const char *spec, struct notify_target **out, struct gpc_error *err)
{
	struct notify_target *t = calloc(1, sizeof(*t));
	char *copy = strdup(spec), *colon, *rest, *semi, kind[32];
	int rc = -1;

	*out = NULL;
	if (t == NULL || copy == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	colon = strchr(copy, ':');
	if (colon == NULL || colon == copy || colon - copy >= (long)sizeof(kind)) {
		gpc_error_set(err, GPC_E_USAGE, "--notify: '%.12s...' is not KIND:WHERE", spec);
		gpc_error_hint(err, "kinds: ntfy:URL, gotify:URL?token=T, discord:URL, slack:URL, pushover:URL?token=APP&user=USER, "
			       "webhook:URL, program:PATH");
		goto out;
	}
	*colon = '\0';
	snprintf(kind, sizeof(kind), "%s", copy);
	rest = colon + 1;
	semi = strchr(rest, ';');
	if (semi)
		*semi++ = '\0';
	if (strcmp(kind, "discord") == 0 || strcmp(kind, "slack") == 0) {
		t->kind = strdup("webhook");
		t->tmpl = strdup(kind);
	} else if (strcmp(kind, "pushover") == 0) {
		/* Pushover's form API: token and user from the query, sent in the body. */
		char *q = strchr(rest, '?');
		t->kind = strdup("webhook");
		t->mime = strdup("application/x-www-form-urlencoded");
		t->name = strdup("pushover");
		if (q == NULL || strstr(q, "token=") == NULL || strstr(q, "user=") == NULL) {
			gpc_error_set(err, GPC_E_USAGE, "--notify pushover:...: the URL needs ?token=APP&user=USER");
			gpc_error_hint(err, "--notify 'pushover:https://api.pushover.net/1/messages.json?token=APP&user=USER'");
			goto out;
		}
		*q++ = '\0';
		if (asprintf(&t->payload, "%s&title=$title&message=$message", q) < 0)
			t->payload = NULL;
	} else if (strcmp(kind, "ntfy") == 0 || strcmp(kind, "gotify") == 0 || strcmp(kind, "webhook") == 0 ||
		   strcmp(kind, "program") == 0) {
		t->kind = strdup(kind);
	} else {
		gpc_error_set(err, GPC_E_USAGE, "--notify: unknown kind '%s'", kind);
		gpc_error_hint(err, "kinds: ntfy, gotify, discord, slack, pushover, webhook, program");
		goto out;
	}
	if (strcmp(kind, "program") == 0 && rest[0] != '/' && rest[0] != '\0') {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL || asprintf(&t->url, "%s/%s", cwd, rest) < 0)
			t->url = NULL;
	} else {
		t->url = strdup(rest);
	}
	if (t->kind == NULL || t->url == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	while (semi && *semi) {
		char *next = strchr(semi, ';');
		if (next)
			*next++ = '\0';
		if (take_param(t, kind, semi, err) != 0)
			goto out;
		semi = next;
	}
	{
		char what[64];
		snprintf(what, sizeof(what), "--notify %s:...", kind);
		if (notify_target_check(t, what, err) != 0)
			goto out;
	}
	*out = t;
	t = NULL;
	rc = 0;
out:
	if (copy) {
		explicit_bzero(copy, strlen(copy));
		free(copy);
	}
	notify_target_free(t);
	return rc;
}

int notify_list_add(struct notify_list *l, struct notify_target *t, struct gpc_error *err)
{
	struct notify_target **nt;
	if (l->n >= NOTIFY_MAX_TARGETS) {
		notify_target_free(t);
		return gpc_error_set(err, GPC_E_USAGE, "more than %d notification targets", NOTIFY_MAX_TARGETS);
	}
	nt = realloc(l->t, (l->n + 1) * sizeof(*nt));
	if (nt == NULL) {
		notify_target_free(t);
		return gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	}
	l->t = nt;
	l->t[l->n++] = t;
	return 0;
}

void notify_list_finish(struct notify_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		notify_target_free(l->t[i]);
	free(l->t);
	memset(l, 0, sizeof(*l));
}

/* ---- the stored list ---- */

static void put_str(struct json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return strdup(json_object_get_string(v));
}

/* The targets and settings of a parsed notify.json (or the node's copy)
 * into l; `path` names it in err. Returns 0 or -1 (l emptied). */
static int list_from_json(struct json_object *doc, const char *path, struct notify_list *l, struct gpc_error *err)
{
	struct json_object *arr, *v;
	int rc = -1;

	memset(l, 0, sizeof(*l));
	if (doc == NULL || !json_object_object_get_ex(doc, "targets", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		gpc_error_set(err, GPC_E_INVALID, "%s: not a list of notification targets", path);
		gpc_error_hint(err, "store them again: goproxy-cert renew --notify TARGET (or --no-notify)");
		goto out;
	}
	if (json_object_object_get_ex(doc, "warn_days", &v))
		l->warn_days = json_object_get_int(v);
	if (json_object_object_get_ex(doc, "digest_over", &v) && json_object_get_int64(v) > 0)
		l->digest_over = (size_t)json_object_get_int64(v);
	if (json_object_object_get_ex(doc, "unreachable_secs", &v))
		l->unreachable_secs = (long)json_object_get_int64(v);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		struct notify_target *t = calloc(1, sizeof(*t));
		if (t == NULL) {
			gpc_error_set(err, GPC_E_NOMEM, "out of memory");
			goto out;
		}
		t->kind = get_str(o, "kind");
		t->url = get_str(o, "url");
		t->token = get_str(o, "token");
		t->topic = get_str(o, "topic");
		t->tmpl = get_str(o, "template");
		t->payload = get_str(o, "payload");
		t->mime = get_str(o, "mime");
		t->method = get_str(o, "method");
		t->name = get_str(o, "name");
		t->events = get_str(o, "events");
		if (t->kind == NULL || t->url == NULL) {
			notify_target_free(t);
			gpc_error_set(err, GPC_E_INVALID, "%s: target %zu has no kind or url", path, i + 1);
			goto out;
		}
		if (notify_list_add(l, t, err) != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		notify_list_finish(l);
	return rc;
}

/* l as a new notify.json document. */
static struct json_object *list_to_json(const struct notify_list *l)
{
	struct json_object *doc = json_object_new_object(), *arr = json_object_new_array();
	for (size_t i = 0; i < l->n; i++) {
		const struct notify_target *t = l->t[i];
		struct json_object *o = json_object_new_object();
		put_str(o, "kind", t->kind);
		put_str(o, "url", t->url);
		put_str(o, "token", t->token);
		put_str(o, "topic", t->topic);
		put_str(o, "template", t->tmpl);
		put_str(o, "payload", t->payload);
		put_str(o, "mime", t->mime);
		put_str(o, "method", t->method);
		put_str(o, "name", t->name);
		put_str(o, "events", t->events);
		json_object_array_add(arr, o);
	}
	json_object_object_add(doc, "targets", arr);
	if (l->warn_days > 0)
		json_object_object_add(doc, "warn_days", json_object_new_int(l->warn_days));
	if (l->digest_over > 0)
		json_object_object_add(doc, "digest_over", json_object_new_int64((int64_t)l->digest_over));
	if (l->unreachable_secs > 0)
		json_object_object_add(doc, "unreachable_secs", json_object_new_int64(l->unreachable_secs));
	return doc;
}

int notify_list_load(struct certstore *cs, struct notify_list *l, struct gpc_error *err)
{
	struct buf b;
	struct json_object *doc = NULL;
	char path[PATH_MAX];
	int rc = -1;

	memset(l, 0, sizeof(*l));
	buf_init(&b, NOTIFY_MAX_RECORD);
	if (certstore_state_read(cs, NOTIFY_TARGETS_RECORD, NOTIFY_MAX_RECORD, &b, err) != 0) {
		if (err->code && strcmp(err->code, GPC_E_MISSING) == 0) {
			gpc_error_clear(err);
			rc = 0;
		}
		goto out;
	}
	certstore_state_path(cs, NOTIFY_TARGETS_RECORD, path, sizeof(path));
	doc = json_tokener_parse(b.data ? b.data : "");
	rc = list_from_json(doc, path, l, err);
out:
	json_object_put(doc);
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_finish(&b);
	return rc;
}

int notify_list_save(struct certstore *cs, const struct notify_list *l, struct gpc_error *err)
{
	struct json_object *doc;
	const char *s;
	int rc;

	if (l->n == 0) {
		if (certstore_state_remove(cs, NOTIFY_TARGETS_RECORD, err) != 0 && err->code &&
		    strcmp(err->code, GPC_E_MISSING) != 0)
			return -1;
		gpc_error_clear(err);
		return 0;
	}
	doc = list_to_json(l);
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = certstore_state_write(cs, NOTIFY_TARGETS_RECORD, s, strlen(s), err);
	json_object_put(doc);
	return rc;
}

/* ---- sending ---- */

static size_t discard_cb(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

/* A string as a JSON string's inside (escaped, no quotes); malloc'd. */
static char *json_inner(const char *s)
{
	struct json_object *o = json_object_new_string(s ? s : "");
	const char *j = json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(j);
	char *r = strndup(j + 1, n >= 2 ? n - 2 : 0);
	json_object_put(o);
	return r;
}

/* One placeholder's value: form: URL-escaped; JSON: escaped, and quoted
 * unless the payload quotes it already (GoDoxy's payloads write
 * "title": $title); else as it is. */
static int add_value(struct buf *b, const char *v, int mode, bool quoted, CURL *curl)
{
	char *e;
	int r;
	if (mode == 0)
		return buf_adds(b, v);
	if (mode == 2) {
		e = curl_easy_escape(curl, v, 0);
		r = e ? buf_adds(b, e) : -1;
		curl_free(e);
		return r;
	}
	e = json_inner(v);
	r = e ? buf_printf(b, "%s%s%s", quoted ? "" : "\"", e, quoted ? "" : "\"") : -1;
	free(e);
	return r;
}

/* payload with $title and $message (and GoDoxy's $color, $fields) replaced,
 * escaped for the MIME type. */
static char *substitute(const char *payload, const char *title, const char *text, const char *mime, CURL *curl)
{
	int mode = strncasecmp(mime, "application/x-www-form-urlencoded", 33) == 0 ? 2 :
		   strncasecmp(mime, "application/json", 16) == 0 ? 1 : 0;
	struct buf b;
	buf_init(&b, 1024 * 1024);
	for (const char *p = payload; *p;) {
		int r;
		bool quoted = p > payload && p[-1] == '"';
		if (strncmp(p, "$title", 6) == 0) {
			r = add_value(&b, title, mode, quoted, curl);
			p += 6;
		} else if (strncmp(p, "$message", 8) == 0) {
			r = add_value(&b, text, mode, quoted, curl);
			p += 8;
		} else if (strncmp(p, "$color", 6) == 0) {
			r = buf_adds(&b, "15548997"); /* red, as a decimal RGB */
			p += 6;
		} else if (strncmp(p, "$fields", 7) == 0) {
			r = buf_adds(&b, "[]");
			p += 7;
		} else {
			r = buf_add(&b, p, 1);
			p++;
		}
		if (r != 0)
			break;
	}
	return buf_take(&b, NULL);
}


/* hdr with "Authorization: Bearer TOKEN" appended; the formatted copy is
 * wiped (the token is a secret). */
static struct curl_slist *add_bearer(struct curl_slist *hdr, const char *token)
{
	char *h = NULL;

	if (asprintf(&h, "Authorization: Bearer %s", token) >= 0) {
		hdr = curl_slist_append(hdr, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	return hdr;
}
static int send_program(const struct notify_target *t, const struct notify_message *m, struct gpc_error *err)
{
	char *env[10] = { NULL }, na[32] = "", nx[32] = "", phase[96];
	char *argv[2] = { t->url, NULL };
	struct spawn_result res;
	int rc = -1, k = 0;

	if (m->not_after)
		time_rfc3339(m->not_after, na, sizeof(na));
	if (m->next_attempt)
		time_rfc3339(m->next_attempt, nx, sizeof(nx));
	if (asprintf(&env[k++], "GOPROXY_CERT_EVENT=%s", m->event) < 0 ||
	    asprintf(&env[k++], "GOPROXY_CERT_LINEAGE=%s", m->lineage ? m->lineage : "") < 0 ||
	    asprintf(&env[k++], "GOPROXY_CERT_NAMES=%s", m->names ? m->names : "") < 0 ||
	    asprintf(&env[k++], "GOPROXY_CERT_ERROR=%s", m->error ? m->error : "") < 0 ||
	    asprintf(&env[k++], "GOPROXY_CERT_NOT_AFTER=%s", na) < 0 ||
	    asprintf(&env[k++], "GOPROXY_CERT_NEXT_ATTEMPT=%s", nx) < 0 ||
	    asprintf(&env[k++], "GOPROXY_CERT_TITLE=%s", m->title) < 0 ||
	    asprintf(&env[k++], "GOPROXY_CERT_MESSAGE=%s", m->text) < 0) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(phase, sizeof(phase), "notification (%s)", m->event);
	if (spawn_run(argv, phase, NOTIFY_PROGRAM_MS, env, &res, err) != 0)
		goto out;
	if (res.status != 0) {
		gpc_error_set(err, GPC_E_IO, "notification program %s exited with status %d", t->url, res.status);
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < 10; i++)
		free(env[i]);
	return rc;
}

/* The most characters a service takes in a message's text (0: no limit
 * worth a cut): Discord's content is 2000 characters (title, newline and
 * text here), Pushover's message 1024 (each service's published API). */
static size_t text_limit(const struct notify_target *t, const struct notify_message *m)
{
	size_t tl = strlen(m->title) + 1;
	if (t->tmpl && strcmp(t->tmpl, "discord") == 0)
		return tl < 1000 ? 2000 - tl : 1000;
	if ((t->name && strcasecmp(t->name, "pushover") == 0) || strstr(t->url, "api.pushover.net"))
		return 1024;
	return 0;
}

/* text cut to at most `limit` characters (bytes, never inside a UTF-8
 * sequence) ending in "…", or NULL when it fits (or out of memory). */
static char *text_cut(const char *text, size_t limit)
{
	size_t n = strlen(text), k;
	char *r;
	if (limit < 8 || n <= limit)
		return NULL;
	k = limit - 3; /* bytes kept: the ellipsis is 3 bytes, 1 character */
	while (k > 0 && ((unsigned char)text[k] & 0xc0) == 0x80)
		k--;
	if ((r = malloc(k + 4)) == NULL)
		return NULL;
	memcpy(r, text, k);
	memcpy(r + k, "\xe2\x80\xa6", 4);
	return r;
}

static int notify_send1(const struct notify_target *t, const struct notify_message *m, struct gpc_error *err);

int notify_send(const struct notify_target *t, const struct notify_message *m, struct gpc_error *err)
{
	char *cut = text_cut(m->text, text_limit(t, m));
	int rc;
	if (cut == NULL)
		return notify_send1(t, m, err);
	struct notify_message mc = *m;
	mc.text = cut;
	rc = notify_send1(t, &mc, err);
	free(cut);
	return rc;
}

/* One request to a target: URL, body, headers, Content-Type. url and body
 * stay NULL when they could not be made (out of memory). */
struct request {
	char *url, *body;
	struct curl_slist *hdr;
	const char *ctype;
};

/* A header line "NAME: VALUE" added to r. */
static void add_header(struct request *r, const char *name, const char *value)
{
	char *h = NULL;

	if (asprintf(&h, "%s: %s", name, value) >= 0)
		r->hdr = curl_slist_append(r->hdr, h);
	free(h);
}

/* ntfy: POST the text to URL/TOPIC; title, priority and a tag in headers. */
static void ntfy_request(const struct notify_target *t, const struct notify_message *m, struct request *r)
{
	char prio[16];

	if (t->topic) {
		size_t n = strlen(t->url);
		if (asprintf(&r->url, "%s%s%s", t->url, n && t->url[n - 1] == '/' ? "" : "/", t->topic) < 0)
			r->url = NULL;
	} else {
		r->url = strdup(t->url);
	}
	r->body = strdup(m->text);
	r->ctype = "text/plain; charset=utf-8";
	add_header(r, "Title", m->title);
	snprintf(prio, sizeof(prio), "%d", m->priority);
	add_header(r, "Priority", prio);
	add_header(r, "Tags", strcmp(m->event, "recovered") == 0 || strcmp(m->event, "issued") == 0 ||
			      strcmp(m->event, "renewed") == 0 || strcmp(m->event, "test") == 0
			      ? "white_check_mark" : "warning");
	if (t->token)
		r->hdr = add_bearer(r->hdr, t->token);
}

/* Gotify: POST URL/message?token=T, JSON {title, message, priority}. */
static void gotify_request(CURL *curl, const struct notify_target *t, const struct notify_message *m,
			   struct request *r)
{
	char *base = strdup(t->url), *q, *tok = NULL;
	struct json_object *o;

	if (base == NULL)
		return;
	q = strchr(base, '?');
	if (q) {
		*q++ = '\0';
		char *p = strstr(q, "token=");
		if (p)
			tok = strndup(p + 6, strcspn(p + 6, "&"));
	}
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		base[--n] = '\0';
	bool has_msg = n >= 8 && strcmp(base + n - 8, "/message") == 0;
	char *ce = curl_easy_escape(curl, t->token ? t->token : tok ? tok : "", 0);
	if (asprintf(&r->url, "%s%s?token=%s", base, has_msg ? "" : "/message", ce ? ce : "") < 0)
		r->url = NULL;
	curl_free(ce);
	if (tok)
		explicit_bzero(tok, strlen(tok));
	free(tok);
	explicit_bzero(base, strlen(base));
	free(base);
	o = json_object_new_object();
	json_object_object_add(o, "title", json_object_new_string(m->title));
	json_object_object_add(o, "message", json_object_new_string(m->text));
	json_object_object_add(o, "priority", json_object_new_int(m->priority * 2));
	r->body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* A webhook's JSON body: Discord's or Slack's template, else an object of
 * the message's fields. Malloc'd or NULL. */
static char *webhook_json(const struct notify_target *t, const struct notify_message *m)
{
	struct json_object *o = json_object_new_object();
	char *full = NULL, *body;

	if (asprintf(&full, "%s\n%s", m->title, m->text) < 0)
		full = NULL;
	if (t->tmpl && strcmp(t->tmpl, "discord") == 0) {
		json_object_object_add(o, "content", json_object_new_string(full ? full : m->text));
	} else if (t->tmpl && strcmp(t->tmpl, "slack") == 0) {
		json_object_object_add(o, "text", json_object_new_string(full ? full : m->text));
	} else {
		char na[32] = "";
		json_object_object_add(o, "title", json_object_new_string(m->title));
		json_object_object_add(o, "message", json_object_new_string(m->text));
		json_object_object_add(o, "event", json_object_new_string(m->event));
		if (m->lineage)
			json_object_object_add(o, "lineage", json_object_new_string(m->lineage));
		if (m->names)
			json_object_object_add(o, "names", json_object_new_string(m->names));
		if (m->error)
			json_object_object_add(o, "error", json_object_new_string(m->error));
		if (m->not_after)
			json_object_object_add(o, "not_after",
					       json_object_new_string(time_rfc3339(m->not_after, na, sizeof(na))));
	}
	free(full);
	body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return body;
}

/* A webhook: a template, a custom payload, or a JSON object. */
static void webhook_request(CURL *curl, const struct notify_target *t, const struct notify_message *m,
			    struct request *r)
{
	r->url = strdup(t->url);
	if (t->mime)
		r->ctype = t->mime;
	if (t->token)
		r->hdr = add_bearer(r->hdr, t->token);
	r->body = t->payload ? substitute(t->payload, m->title, m->text, r->ctype, curl) : webhook_json(t, m);
}

/* Send r on curl (NOTIFY_TRIES tries while the target does not answer or
 * answers 429/5xx). red names the target. Returns 0 or -1 (err). */
static int perform(CURL *curl, const struct notify_target *t, const struct request *r, const char *red,
		   struct gpc_error *err)
{
	CURLcode cc = CURLE_OK;
	long status = 0;

	curl_easy_setopt(curl, CURLOPT_URL, r->url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "goproxy-cert");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, r->hdr);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
	if (t->method && strcmp(t->method, "POST") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, t->method);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_cb);

	for (int i = 0; i < NOTIFY_TRIES; i++) {
		if (i > 0)
			sleep((unsigned)i);
		status = 0;
		cc = curl_easy_perform(curl);
		if (cc == CURLE_OK)
			curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (cc == CURLE_OK && status >= 200 && status < 300)
			return 0;
		if (cc == CURLE_OK && status != 429 && status < 500)
			break; /* refused: trying again will not help */
		gpc_debug("%s: try %d: %s", red, i + 1, cc != CURLE_OK ? curl_easy_strerror(cc) : "server error");
	}
	if (cc != CURLE_OK) {
		gpc_error_set(err, GPC_E_NETWORK, "notification target %s did not answer after %d tries: %s", red,
			      NOTIFY_TRIES, curl_easy_strerror(cc));
		return gpc_error_hint(err, "kept pending: sent at the next run");
	}
	gpc_error_set(err, GPC_E_IO, "notification target %s answered HTTP %ld", red, status);
	return gpc_error_hint(err, status == 401 || status == 403 ? "check the target's token or webhook URL"
								  : "kept pending: sent at the next run");
}

static int notify_send1(const struct notify_target *t, const struct notify_message *m, struct gpc_error *err)
{
	struct request r = { .ctype = "application/json" };
	char red[320];
	CURL *curl;
	int rc = -1;

	notify_target_redacted(t, red, sizeof(red));
	if (strcmp(t->kind, "program") == 0)
		return send_program(t, m, err);
	curl = curl_easy_init();
	if (curl == NULL)
		return gpc_error_set(err, GPC_E_NOMEM, "%s: cannot start libcurl", red);
	if (strcmp(t->kind, "ntfy") == 0)
		ntfy_request(t, m, &r);
	else if (strcmp(t->kind, "gotify") == 0)
		gotify_request(curl, t, m, &r);
	else
		webhook_request(curl, t, m, &r);
	if (r.url == NULL || r.body == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
	} else {
		add_header(&r, "Content-Type", r.ctype);
		rc = perform(curl, t, &r, red, err);
	}
	curl_slist_free_all(r.hdr);
	if (r.url)
		explicit_bzero(r.url, strlen(r.url));
	free(r.url);
	free(r.body);
	curl_easy_cleanup(curl);
	return rc;
}

/* ---- events ---- */

const char *notify_lineage_state(const char *last_result, time_t not_after, time_t now, int warn_days)
{
	bool failing = last_result && strcmp(last_result, "failed") == 0;
	if (warn_days <= 0)
		warn_days = NOTIFY_WARN_DAYS;
	if (not_after && now >= not_after)
		return NOTIFY_S_EXPIRED;
	if (!failing)
		return NOTIFY_S_OK;
	if (not_after && not_after - now <= (time_t)warn_days * 86400)
		return NOTIFY_S_EXPIRING;
	return NOTIFY_S_FAILED;
}

static bool bad_state(const char *s)
{
	return s && strcmp(s, NOTIFY_S_OK) != 0;
}

/* A short stable id of a target (FNV-1a of its fields), the key of what it
 * was told in the state record. */
static void target_id(const struct notify_target *t, char out[17])
{
	uint64_t h = 1469598103934665603ull;
	const char *f[] = { t->kind, t->url, t->token, t->topic, t->tmpl, t->payload, t->mime, t->method };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		for (const char *p = f[i] ? f[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static void describe(const struct notify_observation *o, const char *event, time_t now, char *title, size_t tsz,
		     char *text, size_t xsz, int *prio)
{
	char na[32] = "?", nx[32] = "the next run";
	long days = o->not_after ? (long)((o->not_after - now) / 86400) : 0;
	if (o->not_after)
		time_rfc3339(o->not_after, na, sizeof(na));
	if (o->next_attempt > now)
		time_rfc3339(o->next_attempt, nx, sizeof(nx));
	*prio = 4;
	if (strcmp(event, "recovered") == 0) {
		snprintf(title, tsz, "goproxy-cert: %s renewed again", o->key);
		snprintf(text, xsz, "Renewal of %s (%s) works again; the certificate is valid until %s.", o->key,
			 o->names ? o->names : "", na);
		*prio = 3;
	} else if (strcmp(event, NOTIFY_S_FAILED) == 0) {
		snprintf(title, tsz, "goproxy-cert: renewal of %s failed", o->key);
		snprintf(text, xsz, "Renewal of %s (%s) failed: %s\nThe certificate expires at %s (in %ld days). "
			 "Next attempt: %s.", o->key, o->names ? o->names : "", o->error ? o->error : "unknown error",
			 na, days, nx);
	} else if (strcmp(event, NOTIFY_S_EXPIRING) == 0 || strcmp(event, "reminder") == 0) {
		snprintf(title, tsz, "goproxy-cert: %s expires in %ld days and renewal keeps failing", o->key, days);
		snprintf(text, xsz, "The certificate of %s (%s) expires at %s; renewal keeps failing: %s\n"
			 "Next attempt: %s.", o->key, o->names ? o->names : "", na, o->error ? o->error : "unknown error",
			 nx);
		*prio = 5;
	} else if (strcmp(event, NOTIFY_S_EXPIRED) == 0) {
		snprintf(title, tsz, "goproxy-cert: the certificate of %s has expired", o->key);
		snprintf(text, xsz, "The certificate of %s (%s) expired at %s.%s%s", o->key, o->names ? o->names : "",
			 na, o->error ? " Last error: " : "", o->error ? o->error : "");
		*prio = 5;
	} else if (strncmp(event, "unmanaged", 9) == 0) {
		bool exp = strcmp(event, NOTIFY_S_UNMANAGED_EXPIRED) == 0;
		snprintf(title, tsz, "goproxy-cert: %s %s and nothing renews it", o->key, exp ? "has expired" : "is due");
		snprintf(text, xsz, "The pair %s (%s) %s %s, and no 'goproxy-cert issue' manages it, so renew cannot "
			 "renew it. Adopt it once: goproxy-cert issue -n %s -D NAME ...", o->key, o->names ? o->names : "",
			 exp ? "expired at" : "expires at", na, o->key);
		*prio = exp ? 5 : 4;
	} else if (strcmp(event, "issued") == 0 || strcmp(event, "renewed") == 0) {
		snprintf(title, tsz, "goproxy-cert: %s %s", o->key, event);
		snprintf(text, xsz, "A certificate for %s (%s) was %s; it is valid until %s.", o->key,
			 o->names ? o->names : "", event, na);
		*prio = 2;
	} else if (strcmp(event, "deploy-failed") == 0) {
		snprintf(title, tsz, "goproxy-cert: deploy hook of %s failed", o->key);
		snprintf(text, xsz, "%s was renewed (valid until %s), but its deploy hook failed: %s", o->key, na,
			 o->deploy_error ? o->deploy_error : "");
	} else {
		snprintf(title, tsz, "goproxy-cert: %s: %s", o->key, event);
		snprintf(text, xsz, "%s: %s", o->key, event);
	}
}

struct pending {
	const struct notify_observation *o;
	const char *event;     /* what to say */
	const char *state;     /* state to record when it arrived (NULL: none) */
	bool deploy;           /* a deploy-failed event */
	const char *detail;    /* deploy-failed: what happened (owned by the state doc) */
	bool done;             /* an issued or renewed event (event says which) */
};

static struct json_object *obj_child(struct json_object *o, const char *k)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_object))
		return v;
	v = json_object_new_object();
	json_object_object_add(o, k, v);
	return v;
}

static const char *rec_str(struct json_object *rec, const char *k)
{
	struct json_object *v;
	return rec && json_object_object_get_ex(rec, k, &v) ? json_object_get_string(v) : NULL;
}

static int64_t rec_int(struct json_object *rec, const char *k)
{
	struct json_object *v;
	return rec && json_object_object_get_ex(rec, k, &v) ? json_object_get_int64(v) : 0;
}

static void record(struct json_object *tstate, const struct pending *p, time_t now)
{
	struct json_object *rec = obj_child(tstate, p->o->key);
	if (p->deploy) {
		json_object_object_del(rec, "deploy_pending");
		return;
	}
	if (p->done) {
		json_object_object_del(rec, "done_pending");
		return;
	}
	json_object_object_add(rec, "state", json_object_new_string(p->state));
	json_object_object_add(rec, "at", json_object_new_int64((int64_t)now));
}

/* One run's observations, their states judged with warn_days, and what it
 * reports. */
struct run_ctx {
	const struct notify_observation *obs;
	const char **st;
	size_t n;
	time_t now;
	long remind;
	struct notify_report *rep;
};

/* The events target t is owed (its state record ts, t wanting the failed
 * class or not) into pend; the pending deploy and done notes are added to
 * ts, and what there is nothing to say about is recorded (*dirty). Returns
 * how many. */
static size_t collect_pending(const struct run_ctx *x, const struct notify_target *t, struct json_object *ts,
			      struct pending *pend, bool *dirty)
{
	bool failed_cls = notify_target_wants(t, "failed");
	size_t np = 0;

	for (size_t i = 0; i < x->n; i++) {
		const struct notify_observation *o = &x->obs[i];
		const char *state = x->st[i];
		struct json_object *rec = NULL;
		const char *last;
		size_t np0 = np;
		json_object_object_get_ex(ts, o->key, &rec);
		last = rec_str(rec, "state");
		if (o->deploy_error && failed_cls) {
			json_object_object_add(obj_child(ts, o->key), "deploy_pending",
					       json_object_new_string(o->deploy_error));
			*dirty = true;
			json_object_object_get_ex(ts, o->key, &rec);
		}
		if (o->done && notify_target_wants(t, o->done)) {
			json_object_object_add(obj_child(ts, o->key), "done_pending", json_object_new_string(o->done));
			*dirty = true;
			json_object_object_get_ex(ts, o->key, &rec);
		}
		if (rec_str(rec, "deploy_pending"))
			pend[np++] = (struct pending){ o, "deploy-failed", NULL, true, rec_str(rec, "deploy_pending"), false };
		if ((last == NULL && !bad_state(state)) || (!failed_cls && (last == NULL || strcmp(last, state)))) {
			/* nothing to say (or not to this target): recorded */
			record(ts, &(struct pending){ .o = o, .state = state }, x->now);
			*dirty = true;
		} else if (last == NULL || strcmp(last, state) != 0) {
			pend[np++] = (struct pending){ .o = o, .event = bad_state(state) ? state : "recovered", .state = state };
		} else if (strcmp(state, NOTIFY_S_EXPIRING) == 0 && x->now - (time_t)rec_int(rec, "at") >= x->remind) {
			pend[np++] = (struct pending){ .o = o, .event = "reminder", .state = state };
		}
		if (rec_str(rec, "done_pending")) {
			bool recovered = np > np0 && pend[np - 1].event && strcmp(pend[np - 1].event, "recovered") == 0;
			if (recovered) { /* "renewed again" says it already */
				json_object_object_del(rec, "done_pending");
				*dirty = true;
			} else {
				const char *ev = strcmp(rec_str(rec, "done_pending"), "issued") == 0 ? "issued" : "renewed";
				pend[np++] = (struct pending){ .o = o, .event = ev, .done = true };
			}
		}
	}
	return np;
}

/* One message to t (redacted: red) for the np events of pend; recorded in
 * ts when it arrived, else counted failed with *last_fail. Returns true
 * when ts changed. */
static bool send_digest(const struct run_ctx *x, const struct notify_target *t, const char *red,
			struct json_object *ts, const struct pending *pend, size_t np, struct gpc_error *last_fail)
{
	struct buf d;
	char title[160];
	char *text;
	struct gpc_error se;
	bool dirty = false;

	buf_init(&d, 256 * 1024);
	for (size_t i = 0; i < np; i++) {
		char line[512], na[32] = "?";
		if (pend[i].o->not_after)
			time_rfc3339(pend[i].o->not_after, na, sizeof(na));
		snprintf(line, sizeof(line), "%s: %s (expires %s)%s%s\n", pend[i].o->key, pend[i].event, na,
			 pend[i].o->error && bad_state(pend[i].state) ? ": " : "",
			 pend[i].o->error && bad_state(pend[i].state) ? pend[i].o->error : "");
		if (buf_add(&d, line, strlen(line)) != 0)
			break;
	}
	text = buf_take(&d, NULL);
	snprintf(title, sizeof(title), "goproxy-cert: %zu certificates changed state", np);
	struct notify_message m = { .event = "digest", .title = title, .text = text ? text : "", .priority = 5 };
	gpc_error_clear(&se);
	if (notify_send(t, &m, &se) == 0) {
		x->rep->sent++;
		for (size_t i = 0; i < np; i++)
			record(ts, &pend[i], x->now);
		dirty = true;
		gpc_info("notified %s: %zu changes in one digest", red, np);
	} else {
		x->rep->failed++;
		*last_fail = se;
		gpc_warn("%s (%zu events kept for the next run)", se.message, np);
	}
	free(text);
	return dirty;
}

/* One message to t for each of the np events of pend, as send_digest
 * records and counts them. Returns true when ts changed. */
static bool send_each(const struct run_ctx *x, const struct notify_target *t, const char *red,
		      struct json_object *ts, const struct pending *pend, size_t np, struct gpc_error *last_fail)
{
	bool dirty = false;

	for (size_t i = 0; i < np; i++) {
		char title[256], text[3072];
		int prio;
		struct gpc_error se;
		struct notify_observation oc = *pend[i].o;
		if (pend[i].deploy)
			oc.deploy_error = pend[i].detail;
		describe(&oc, pend[i].event, x->now, title, sizeof(title), text, sizeof(text), &prio);
		struct notify_message m = { .event = pend[i].event, .lineage = pend[i].o->key,
					    .names = pend[i].o->names, .error = pend[i].deploy ? pend[i].detail
											      : pend[i].o->error,
					    .not_after = pend[i].o->not_after, .next_attempt = pend[i].o->next_attempt,
					    .title = title, .text = text, .priority = prio };
		gpc_error_clear(&se);
		if (notify_send(t, &m, &se) == 0) {
			x->rep->sent++;
			record(ts, &pend[i], x->now);
			dirty = true;
			gpc_info("notified %s: %s %s", red, pend[i].o->key, pend[i].event);
		} else {
			x->rep->failed++;
			*last_fail = se;
			gpc_warn("%s (%s %s kept for the next run)", se.message, pend[i].o->key, pend[i].event);
		}
	}
	return dirty;
}

/* What status shows: target id (redacted: red) did not take this run's
 * events (`failed`), since when and why (no secret); or it did, and the
 * note goes. Returns true when doc changed. */
static bool note_undelivered(struct json_object *doc, const char *id, const char *red, bool failed,
			     const struct gpc_error *last_fail, time_t now)
{
	struct json_object *und = obj_child(doc, "undelivered"), *u;

	if (failed) {
		int64_t since = json_object_object_get_ex(und, id, &u) ? rec_int(u, "since") : 0;
		u = json_object_new_object();
		json_object_object_add(u, "target", json_object_new_string(red));
		json_object_object_add(u, "since", json_object_new_int64(since ? since : (int64_t)now));
		json_object_object_add(u, "error", json_object_new_string(last_fail->message));
		json_object_object_add(und, id, u);
		return true;
	}
	if (json_object_object_get_ex(und, id, NULL)) {
		json_object_object_del(und, id);
		return true;
	}
	return false;
}

/* The state last sent (NOTIFY_STATE_RECORD), read into b: a JSON object,
 * a new empty one when there is none yet (or it is not an object). Returns
 * NULL when it could not be read (err). */
static struct json_object *state_read(struct certstore *cs, struct buf *b, struct gpc_error *err)
{
	struct json_object *doc = NULL;

	if (certstore_state_read(cs, NOTIFY_STATE_RECORD, NOTIFY_MAX_RECORD, b, err) == 0)
		doc = json_tokener_parse(b->data ? b->data : "");
	else if (err->code && strcmp(err->code, GPC_E_MISSING) != 0)
		return NULL;
	gpc_error_clear(err);
	if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		doc = json_object_new_object();
	}
	return doc;
}

int notify_run(struct certstore *cs, const struct notify_observation *obs, size_t n,
	       const struct notify_policy *p, struct notify_report *rep, struct gpc_error *err)
{
	struct notify_list tl;
	struct buf b;
	struct json_object *doc = NULL, *targets;
	struct pending *pend = NULL;
	struct run_ctx x = { .obs = obs, .n = n, .now = time_now(), .rep = rep,
			     .remind = p && p->remind_secs > 0 ? p->remind_secs : 86400 };
	size_t digest_over;
	int warn_days;
	const char **st = NULL; /* each observation's state, judged with warn_days */
	bool locked = false, dirty = false;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	buf_init(&b, NOTIFY_MAX_RECORD);
	if (notify_list_load(cs, &tl, err) != 0)
		return -1;
	rep->targets = tl.n;
	if (tl.n == 0) {
		rc = 0;
		goto out;
	}
	/* the settings stored with the targets, unless the caller overrides */
	digest_over = p && p->digest_over > 0 ? p->digest_over : tl.digest_over > 0 ? tl.digest_over : NOTIFY_DIGEST_OVER;
	warn_days = p && p->warn_days > 0 ? p->warn_days : tl.warn_days > 0 ? tl.warn_days : NOTIFY_WARN_DAYS;
	pend = calloc(3 * n + 1, sizeof(*pend));
	x.st = st = calloc(n + 1, sizeof(*st));
	if (pend == NULL || st == NULL) {
		gpc_error_set(err, GPC_E_NOMEM, "out of memory");
		goto out;
	}
	/* The state last sent is read-modify-written under the store lock, so
	 * two runs at once do not both send a change. */
	if (certstore_lock(cs, true, 60, err) != 0)
		goto out;
	locked = true;
	if ((doc = state_read(cs, &b, err)) == NULL)
		goto out;
	targets = obj_child(doc, "targets");
	for (size_t i = 0; i < n; i++) {
		st[i] = obs[i].state;
		if (strcmp(st[i], NOTIFY_S_FAILED) == 0 || strcmp(st[i], NOTIFY_S_EXPIRING) == 0)
			st[i] = obs[i].not_after && obs[i].not_after - x.now <= (time_t)warn_days * 86400
					? NOTIFY_S_EXPIRING : NOTIFY_S_FAILED;
	}
	for (size_t ti = 0; ti < tl.n; ti++) {
		const struct notify_target *t = tl.t[ti];
		char id[17], red[320];
		size_t np, nfail0 = rep->failed;
		struct gpc_error last_fail;
		gpc_error_clear(&last_fail);

		target_id(t, id);
		notify_target_redacted(t, red, sizeof(red));
		struct json_object *ts = obj_child(targets, id);
		np = collect_pending(&x, t, ts, pend, &dirty);
		if (np == 0)
			continue;
		if (np > digest_over) /* one message for many changes in one run */
			dirty |= send_digest(&x, t, red, ts, pend, np, &last_fail);
		else
			dirty |= send_each(&x, t, red, ts, pend, np, &last_fail);
		dirty |= note_undelivered(doc, id, red, rep->failed > nfail0, &last_fail, x.now);
	}
	if (dirty) {
		const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
		if (certstore_state_write(cs, NOTIFY_STATE_RECORD, s, strlen(s), err) != 0)
			goto out;
	}
	rc = 0;
out:
	if (locked)
		certstore_unlock(cs);
	json_object_put(doc);
	free(pend);
	free(st);
	buf_finish(&b);
	notify_list_finish(&tl);
	return rc;
}

/* ---- a shared store out of reach (the node's copy of its targets) ---- */

/* The node's copy: a JSON object, or a new empty one when there is none
 * (missing, or unreadable: it is only a copy). */
static struct json_object *copy_read(const char *file)
{
	struct buf b;
	struct gpc_error e;
	struct json_object *doc = NULL;

	gpc_error_clear(&e);
	buf_init(&b, NOTIFY_MAX_RECORD);
	if (fs_read_file_strict(file, NOTIFY_MAX_RECORD, true, &b, &e) == 0)
		doc = json_tokener_parse(b.data ? b.data : "");
	else if (e.sys_errno != ENOENT)
		gpc_warn("%s (a copy of the store's alert targets; made again when the store answers)", e.message);
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_finish(&b);
	if (doc != NULL && !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		doc = NULL;
	}
	return doc;
}

static int copy_write(const char *file, struct json_object *doc, struct gpc_error *err)
{
	char dir[PATH_MAX];
	const char *s, *slash = strrchr(file, '/');
	int rc;

	if (slash != NULL && slash != file) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
		if (fs_mkdirs(dir, 0700, 0, err) != 0)
			return -1;
	}
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = fs_write_atomic(file, s, strlen(s), 0600, err);
	return rc;
}

static void reach_message(bool down, const char *store, time_t since, const char *why, char *title, size_t tsz,
			  char *text, size_t xsz)
{
	char host[256] = "this node", ts[32];
	time_t now = time_now();

	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "this node");
	time_rfc3339(since, ts, sizeof(ts));
	if (down) {
		snprintf(title, tsz, "goproxy-cert: the store %s cannot be reached", store);
		snprintf(text, xsz, "goproxy-cert on %s has not reached the store %s since %s (%ld minutes): %s\n"
			 "No certificate is renewed from here while it is out of reach.", host, store, ts,
			 (long)((now - since) / 60), why ? why : "");
	} else {
		snprintf(title, tsz, "goproxy-cert: the store %s is reachable again", store);
		snprintf(text, xsz, "goproxy-cert on %s reaches the store %s again (out of reach since %s).", host,
			 store, ts);
	}
}

int notify_node_copy_path(const char *store, char *out, size_t outsz)
{
	char dir[PATH_MAX], name[64];
	uint64_t h = 1469598103934665603ull;
	int n;

	for (const char *p = store; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	if (fs_state_dir("goproxy-cert", dir, sizeof(dir)) != 0)
		return -1;
	snprintf(name, sizeof(name), NODE_NOTIFY_STORE_FMT, (unsigned long long)h);
	n = snprintf(out, outsz, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int notify_reach_ok(const char *file, const char *store, const struct notify_list *l, struct notify_report *rep,
		    struct gpc_error *err)
{
	struct json_object *old = copy_read(file), *doc, *told = NULL, *keep = json_object_new_object();
	time_t since = old ? (time_t)rec_int(old, "down_since") : 0;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	rep->targets = l->n;
	if (old && json_object_object_get_ex(old, "told", &told) && json_object_is_type(told, json_type_object)) {
		/* the targets told that the store was down: it is back */
		json_object_object_foreach(told, id, v) {
			const struct notify_target *t = NULL;
			char title[256], text[1024], tid[17], red[320];
			struct gpc_error se;
			for (size_t i = 0; i < l->n && t == NULL; i++) {
				target_id(l->t[i], tid);
				if (strcmp(tid, id) == 0)
					t = l->t[i];
			}
			if (t == NULL)
				continue; /* no longer a target */
			reach_message(false, store, since ? since : (time_t)json_object_get_int64(v), NULL, title,
				      sizeof(title), text, sizeof(text));
			struct notify_message m = { .event = "store-recovered", .title = title, .text = text,
						    .priority = 3 };
			gpc_error_clear(&se);
			if (notify_send(t, &m, &se) == 0) {
				rep->sent++;
				gpc_info("notified %s: the store is reachable again",
					 notify_target_redacted(t, red, sizeof(red)));
			} else {
				rep->failed++;
				gpc_warn("%s (kept for the next run)", se.message);
				json_object_object_add(keep, id, json_object_get(v));
			}
		}
	}
	if (l->n == 0 && json_object_object_length(keep) == 0) {
		json_object_put(keep);
		json_object_put(old);
		if (unlink(file) != 0 && errno != ENOENT)
			return gpc_error_sys(err, errno, "remove", file);
		return 0;
	}
	doc = list_to_json(l);
	json_object_object_add(doc, "store", json_object_new_string(store));
	if (json_object_object_length(keep) > 0)
		json_object_object_add(doc, "told", keep);
	else
		json_object_put(keep);
	rc = copy_write(file, doc, err);
	json_object_put(doc);
	json_object_put(old);
	return rc;
}

int notify_reach_failed(const char *file, const char *store, const char *why, struct notify_report *rep,
			struct gpc_error *err)
{
	struct json_object *doc = copy_read(file), *told;
	struct notify_list tl;
	time_t now = time_now(), since;
	long threshold;
	bool dirty = false;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	if (doc == NULL)
		return 0; /* no copy: no target known on this node */
	if (list_from_json(doc, file, &tl, err) != 0) {
		json_object_put(doc);
		return -1;
	}
	rep->targets = tl.n;
	threshold = tl.unreachable_secs > 0 ? tl.unreachable_secs : NOTIFY_UNREACHABLE_SECS;
	since = (time_t)rec_int(doc, "down_since");
	if (since == 0 || since > now) {
		since = now;
		json_object_object_add(doc, "down_since", json_object_new_int64((int64_t)now));
		dirty = true;
	}
	told = obj_child(doc, "told");
	if (now - since >= threshold) {
		for (size_t i = 0; i < tl.n; i++) {
			const struct notify_target *t = tl.t[i];
			char title[256], text[2048], tid[17], red[320];
			struct gpc_error se;
			target_id(t, tid);
			if (json_object_object_get_ex(told, tid, NULL) || !notify_target_wants(t, "failed"))
				continue;
			reach_message(true, store, since, why, title, sizeof(title), text, sizeof(text));
			struct notify_message m = { .event = "store-unreachable", .error = why, .title = title,
						    .text = text, .priority = 5 };
			gpc_error_clear(&se);
			if (notify_send(t, &m, &se) == 0) {
				rep->sent++;
				json_object_object_add(told, tid, json_object_new_int64((int64_t)since));
				dirty = true;
				gpc_info("notified %s: the store cannot be reached",
					 notify_target_redacted(t, red, sizeof(red)));
			} else {
				rep->failed++;
				gpc_warn("%s (kept for the next run)", se.message);
			}
		}
	}
	rc = dirty ? copy_write(file, doc, err) : 0;
	notify_list_finish(&tl);
	json_object_put(doc);
	return rc;
}
