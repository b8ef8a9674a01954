#include "core/dicom-import.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "core/pulmo-error.h"

/* Removes the conversion folder and the files dcm2niix wrote into it (it writes
 * no subfolders). */
static void
remove_folder (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_unlink (path);
    }
  g_rmdir (folder);
}

/* The NIfTI file holding the most voxels: the main series, not a localiser. */
static char *
largest_nifti (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  char *best = NULL;
  goffset best_size = -1;
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_has_suffix (name, ".nii") && !g_str_has_suffix (name, ".nii.gz"))
        continue;
      g_autofree char *path = g_build_filename (folder, name, NULL);
      GStatBuf st;
      if (g_stat (path, &st) == 0 && st.st_size > best_size)
        {
          best_size = st.st_size;
          g_free (best);
          best = g_steal_pointer (&path);
        }
    }
  return best;
}

/* dcm2niix's last words, the useful part of its chatter for an error message. */
static char *
last_line (const char *output)
{
  if (output == NULL)
    return g_strdup ("");
  g_auto (GStrv) lines = g_strsplit (output, "\n", -1);
  for (int n = (int) g_strv_length (lines) - 1; n >= 0; n--)
    {
      g_strstrip (lines[n]);
      if (lines[n][0] != '\0')
        return g_strdup (lines[n]);
    }
  return g_strdup ("");
}

/* Runs dcm2niix from @folder into @work and loads what it made. */
static PulmoVolume *
convert_and_load (const char *program, const char *folder, const char *work, PulmoProgress *progress,
                  GCancellable *cancellable, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *output = NULL;
  /* Uncompressed output (-z n) is quicker to write and read back; no BIDS sidecar (-b n). */
  g_autoptr (GSubprocess) process = g_subprocess_new (
    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &local_error, program, "-z", "n",
    "-b", "n", "-f", "series_%s", "-o", work, folder, NULL);
  if (process == NULL
      || !g_subprocess_communicate_utf8 (process, NULL, cancellable, &output, NULL, &local_error))
    {
      if (process != NULL)
        {
          g_subprocess_force_exit (process);
          g_subprocess_wait (process, NULL, NULL);
        }
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_set_error (error, PULMO_ERROR, PULMO_ERROR_CANCELLED, _("Opening %s was cancelled"), folder);
      else
        g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Could not run dcm2niix on %s: %s"), folder,
                     local_error->message);
      return NULL;
    }

  g_autofree char *nifti = largest_nifti (work);
  if (nifti == NULL)
    {
      g_autofree char *why = last_line (output);
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND, _("No DICOM series found in %s (dcm2niix: %s)"),
                   folder, why);
      return NULL;
    }
  return pulmo_volume_load (nifti, progress, cancellable, error);
}

PulmoVolume *
pulmo_dicom_import (const char *folder, PulmoProgress *progress, GCancellable *cancellable,
                    GError **error)
{
  g_return_val_if_fail (folder != NULL, NULL);

  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_NOT_FOUND, _("%s: no such folder"), folder);
      return NULL;
    }
  g_autofree char *program = g_find_program_in_path ("dcm2niix");
  if (program == NULL)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_MISSING_TOOL,
                   _("Opening a DICOM folder needs the program dcm2niix, which is not installed. "
                   "Install it (Debian package “dcm2niix”) and try again."));
      return NULL;
    }

  g_autoptr (GError) local_error = NULL;
  g_autofree char *work = g_dir_make_tmp ("pulmo-dicom-XXXXXX", &local_error);
  if (work == NULL)
    {
      g_set_error (error, PULMO_ERROR, PULMO_ERROR_IO, _("Could not make a temporary folder: %s"),
                   local_error->message);
      return NULL;
    }
  pulmo_progress_begin (progress, N_("Converting DICOM"), 0);
  PulmoVolume *volume = convert_and_load (program, folder, work, progress, cancellable, error);
  remove_folder (work);
  return volume;
}
