/* pulmo-weak-ref.h: a weak reference given to a GTask's callback as its
 * data, so that work ending after its window has closed neither keeps the
 * window alive nor touches it. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

static inline GWeakRef *
pulmo_weak_ref_new (gpointer object)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, object);
  return ref;
}

/* For a reference that may never be taken (a callback that may not run). */
static inline void
pulmo_weak_ref_free (gpointer ref)
{
  g_weak_ref_clear (ref);
  g_free (ref);
}

/* The object with a reference of its own, or NULL if it has gone; frees @ref. */
static inline gpointer
pulmo_weak_ref_take (GWeakRef *ref)
{
  gpointer object = g_weak_ref_get (ref);
  pulmo_weak_ref_free (ref);
  return object;
}

G_END_DECLS
