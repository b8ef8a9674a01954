#include "app/pulmo-about.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "pulmo-config.h"

/* A data set the shipped model or the sample comes from: its Legal section.
 * The licences say "not verified" where the data's own record was not read
 * (MODEL.md and the PROVENANCE.md files say which). */
typedef struct {
  const char *title;
  const char *copyright;  /* the citation */
  const char *licence;    /* Pango markup */
} DataSource;

GtkWidget *
pulmo_about_present (GtkWindow *parent)
{
  const char *developers[] = { _("The Pulmo developers"), NULL };
  /* Names and citations stay as their authors wrote them; what is said about them is translated. */
  const DataSource sources[] = {
    { "COVID-19 CT Lung and Infection Segmentation Dataset (COVID-19-CT-Seg)",
      "Ma J., Ge C., Wang Y., An X., Gao J., Yu Z., … He J. (2020), Zenodo, doi:10.5281/zenodo.3757476; "
      "Ma et al., Medical Physics 2021, doi:10.1002/mp.14676",
      _("Trained the shipped model (15 cases). Treated as CC BY-NC-SA 4.0 (non-commercial, attribution, "
        "share-alike) until verified at the "
        "<a href=\"https://doi.org/10.5281/zenodo.3757476\">Zenodo record</a>.") },
    { "MedSeg COVID-19 CT segmentation dataset, as redistributed with Inf-Net",
      "MedSeg, medicalsegmentation.com/covid19; Fan D.-P. et al., “Inf-Net: Automatic COVID-19 Lung "
      "Infection Segmentation from CT Images”, IEEE TMI 2020",
      _("Trained the shipped model (73 slices, segmented by a radiologist). Reported as CC0 1.0, not verified.") },
    { "COVID-CT-MD",
      "Afshar P., Heidarian S., Enshaei N., Naderkhani F., Rafiee M.J., Oikonomou A., Fard F.B., Samimi K., "
      "Plataniotis K.N., Mohammadi A., Scientific Data 8, 121 (2021), doi:10.1038/s41597-021-00900-3",
      _("The bundled sample CT is its patient P001, reduced to 256×256. The Figshare collection is believed "
        "to be CC BY 4.0, not verified.") },
    { "Chest Imaging Platform",
      "Brigham and Women’s Hospital, chestimagingplatform.org; "
      "COPDGene: Regan E.A. et al., COPD 7(1):32-43, 2010",
      _("Its test CT and lung mask check Pulmo’s reading and measuring. CIP Contribution and Software "
        "License Agreement (BSD-style).") },
    { "TotalSegmentator",
      "Wasserthal J. et al., Radiology: Artificial Intelligence 5(5):e230024, 2023, doi:10.1148/ryai.230024",
      _("Its example CT, DICOM series and segmentations check Pulmo’s reading. Apache-2.0.") },
  };

  AdwAboutWindow *about = ADW_ABOUT_WINDOW (adw_about_window_new ());
  gtk_window_set_transient_for (GTK_WINDOW (about), parent);
  gtk_window_set_modal (GTK_WINDOW (about), TRUE);
  adw_about_window_set_application_name (about, "Pulmo");
  adw_about_window_set_application_icon (about, "org.pulmo.Pulmo");
  adw_about_window_set_version (about, PULMO_VERSION);
  adw_about_window_set_developer_name (about, developers[0]);
  adw_about_window_set_developers (about, developers);
  adw_about_window_set_comments (about, _("Read chest CT in three linked views, segment the lungs and COVID-19 "
                                          "lesions, correct the labels and fine-tune the model.\n\n"
                                          "Pulmo is not a medical device. Its segmentations and figures are a "
                                          "model’s output for a reader to check, not a diagnosis."));
  adw_about_window_set_copyright (about, _("© The Pulmo developers"));
  adw_about_window_set_license_type (about, GTK_LICENSE_GPL_3_0);
  /* Translators: your names and e-mail addresses, one a line; the About
   * window hides its translators' credits while this stays untranslated. */
  adw_about_window_set_translator_credits (about, _("translator-credits"));

  const char *data_credits[G_N_ELEMENTS (sources) + 1];
  for (size_t s = 0; s < G_N_ELEMENTS (sources); s++)
    {
      data_credits[s] = sources[s].title;
      adw_about_window_add_legal_section (about, sources[s].title, sources[s].copyright, GTK_LICENSE_CUSTOM,
                                          sources[s].licence);
    }
  data_credits[G_N_ELEMENTS (sources)] = NULL;
  adw_about_window_add_credit_section (about, _("Data"), data_credits);

  gtk_window_present (GTK_WINDOW (about));
  return GTK_WIDGET (about);
}
