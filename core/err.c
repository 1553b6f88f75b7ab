/* core/err: names and messages for errno values and resolver codes. */
#include "err.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

struct entry {
  const char *name;
  int value;
};

static const struct entry errnames[] = {
#define X(e) {#e, e},
#include "lsk_errnames.h"
#undef X
};

static const struct entry eainames[] = {
#define X(e) {#e, e},
  X(EAI_AGAIN) X(EAI_BADFLAGS) X(EAI_FAIL) X(EAI_FAMILY) X(EAI_MEMORY)
  X(EAI_NONAME) X(EAI_SERVICE) X(EAI_SOCKTYPE) X(EAI_SYSTEM)
#ifdef EAI_ADDRFAMILY
  X(EAI_ADDRFAMILY)
#endif
#ifdef EAI_NODATA
  X(EAI_NODATA)
#endif
#ifdef EAI_OVERFLOW
  X(EAI_OVERFLOW)
#endif
#ifdef EAI_INPROGRESS
  X(EAI_INPROGRESS) X(EAI_CANCELED) X(EAI_NOTCANCELED) X(EAI_ALLDONE)
  X(EAI_INTR)
#endif
#ifdef EAI_IDN_ENCODE
  X(EAI_IDN_ENCODE)
#endif
#undef X
};

static const struct entry hnames[] = {
  {"HOST_NOT_FOUND", HOST_NOT_FOUND}, {"TRY_AGAIN", TRY_AGAIN},
  {"NO_RECOVERY", NO_RECOVERY}, {"NO_DATA", NO_DATA},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

int lsk_err_is_eai(int code) {
  return code <= LSK_EAI_BASE && code > LSK_EAI_BASE - 100000;
}

int lsk_err_eai(int code) {
  int magnitude = LSK_EAI_BASE - code;
  /* Give the code back the sign the platform uses for EAI_* values. */
  return EAI_NONAME < 0 ? -magnitude : magnitude;
}

int lsk_err_is_herr(int code) {
  return code <= LSK_HERR_BASE && code > LSK_HERR_BASE - 100000;
}

int lsk_err_herr(int code) {
  return LSK_HERR_BASE - code;
}

const char *lsk_err_name(int code) {
  if (lsk_err_is_herr(code)) {
    for (int i = 0; i < COUNT(hnames); i++)
      if (hnames[i].value == lsk_err_herr(code))
        return hnames[i].name;
    return NULL;
  }
  if (lsk_err_is_eai(code)) {
    int eai = lsk_err_eai(code);
    for (int i = 0; i < COUNT(eainames); i++)
      if (eainames[i].value == eai)
        return eainames[i].name;
    return NULL;
  }
  for (int i = 0; i < COUNT(errnames); i++)
    if (errnames[i].value == code)
      return errnames[i].name;
  return NULL;
}

const char *lsk_err_message(int code, char *buf, size_t n) {
  if (n == 0)
    return buf;
  if (code == ETIMEDOUT) {
    /* Python's socket.timeout reads "timed out"; a kernel ETIMEDOUT on
     * connect is the same event to a script. */
    snprintf(buf, n, "timed out");
  } else if (lsk_err_is_eai(code)) {
    snprintf(buf, n, "%s", gai_strerror(lsk_err_eai(code)));
  } else if (lsk_err_is_herr(code)) {
    snprintf(buf, n, "%s", hstrerror(lsk_err_herr(code)));
  } else {
    /* The GNU strerror_r: it may return a static string instead of
     * filling buf. */
    const char *m = strerror_r(code, buf, n);
    if (m != buf)
      snprintf(buf, n, "%s", m);
  }
  return buf;
}

int lsk_err_count(void) {
  return COUNT(errnames) + COUNT(eainames);
}

const char *lsk_err_entry(int i, int *value) {
  if (i < 0 || i >= lsk_err_count())
    return NULL;
  const struct entry *e =
      i < COUNT(errnames) ? &errnames[i] : &eainames[i - COUNT(errnames)];
  *value = e->value;
  return e->name;
}
