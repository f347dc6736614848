/* Classification metrics: stratified cross-validation of the head, figures
 * from predictions, and their text and JSON reports. */
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "head-private.h"

#define MIN_PROB 1e-15

struct _HippoMetrics
{
  guint n;
  guint n_classes;
  guint folds;
  gboolean multi_label;
  double unsure_threshold;
  float *probs; /* n × n_classes, NaN rows untested */
  guint *labels;
  guint8 *label_matrix;
  guint n_tested;
  guint *confusion; /* single-label */
  guint *tp, *fp, *fn, *tn;
  guint *examples; /* per class, tested or not (multi-label: positives) */
  double accuracy;
  double balanced_accuracy;
  double log_loss;
  double coverage;
  double sure_accuracy;
};

void
hippo_metrics_free (HippoMetrics *m)
{
  if (m == NULL)
    return;
  g_free (m->probs);
  g_free (m->labels);
  g_free (m->label_matrix);
  g_free (m->confusion);
  g_free (m->tp);
  g_free (m->fp);
  g_free (m->fn);
  g_free (m->tn);
  g_free (m->examples);
  g_free (m);
}

static gboolean
row_tested (const float *p, guint K)
{
  for (guint k = 0; k < K; k++)
    if (isnan (p[k]))
      return FALSE;
  return TRUE;
}

static guint
argmax (const float *p, guint K)
{
  guint top = 0;

  for (guint k = 1; k < K; k++)
    if (p[k] > p[top])
      top = k;
  return top;
}

/* Fills in every figure from probs and the labels. */
static void
compute (HippoMetrics *m)
{
  const guint K = m->n_classes;
  guint correct = 0, sure = 0, sure_correct = 0, terms = 0;
  double ll = 0, bal = 0;

  m->tp = g_new0 (guint, K);
  m->fp = g_new0 (guint, K);
  m->fn = g_new0 (guint, K);
  m->tn = g_new0 (guint, K);
  m->examples = g_new0 (guint, K);
  if (!m->multi_label)
    m->confusion = g_new0 (guint, (gsize) K * K);
  m->n_tested = 0;

  for (guint i = 0; i < m->n; i++)
    {
      const float *p = m->probs + (gsize) i * K;
      gboolean right, is_sure;

      if (m->multi_label)
        for (guint k = 0; k < K; k++)
          m->examples[k] += m->label_matrix[(gsize) i * K + k];
      else
        m->examples[m->labels[i]]++;
      if (!row_tested (p, K))
        continue;
      m->n_tested++;
      if (m->multi_label)
        {
          const guint8 *y = m->label_matrix + (gsize) i * K;
          double conf = 1, l = 0;

          right = TRUE;
          for (guint k = 0; k < K; k++)
            {
              gboolean on = p[k] >= 0.5;
              double pk = y[k] ? p[k] : 1 - (double) p[k];

              right &= on == (y[k] != 0);
              m->tp[k] += on && y[k];
              m->fp[k] += on && !y[k];
              m->fn[k] += !on && y[k];
              m->tn[k] += !on && !y[k];
              l -= log (MAX (pk, MIN_PROB));
              conf = MIN (conf, MAX (p[k], 1 - p[k]));
            }
          ll += l / K;
          is_sure = conf >= m->unsure_threshold;
        }
      else
        {
          guint y = m->labels[i], top = argmax (p, K);

          m->confusion[(gsize) y * K + top]++;
          right = top == y;
          ll -= log (MAX ((double) p[y], MIN_PROB));
          is_sure = p[top] >= m->unsure_threshold;
        }
      correct += right;
      sure += is_sure;
      sure_correct += is_sure && right;
    }

  if (!m->multi_label)
    for (guint c = 0; c < K; c++)
      {
        guint row = 0, col = 0;

        for (guint k = 0; k < K; k++)
          {
            row += m->confusion[(gsize) c * K + k];
            col += m->confusion[(gsize) k * K + c];
          }
        m->tp[c] = m->confusion[(gsize) c * K + c];
        m->fn[c] = row - m->tp[c];
        m->fp[c] = col - m->tp[c];
        m->tn[c] = m->n_tested - row - col + m->tp[c];
      }
  for (guint c = 0; c < K; c++)
    {
      guint pos = m->tp[c] + m->fn[c], neg = m->fp[c] + m->tn[c];

      if (m->multi_label)
        {
          double a = 0;
          guint sides = 0;

          if (pos)
            a += (double) m->tp[c] / pos, sides++;
          if (neg)
            a += (double) m->tn[c] / neg, sides++;
          if (sides)
            bal += a / sides, terms++;
        }
      else if (pos)
        bal += (double) m->tp[c] / pos, terms++;
    }
  m->accuracy = m->n_tested ? (double) correct / m->n_tested : NAN;
  m->balanced_accuracy = terms ? bal / terms : NAN;
  m->log_loss = m->n_tested ? ll / m->n_tested : NAN;
  m->coverage = m->n_tested ? (double) sure / m->n_tested : NAN;
  m->sure_accuracy = sure ? (double) sure_correct / sure : NAN;
}

static HippoMetrics *
metrics_new (guint n, guint n_classes, const guint *labels,
             const guint8 *label_matrix, double unsure_threshold)
{
  HippoMetrics *m = g_new0 (HippoMetrics, 1);

  m->n = n;
  m->n_classes = n_classes;
  m->multi_label = label_matrix != NULL;
  m->unsure_threshold = unsure_threshold;
  if (label_matrix)
    m->label_matrix = g_memdup2 (label_matrix, (gsize) n * n_classes);
  else
    m->labels = g_memdup2 (labels, (gsize) n * sizeof (guint));
  return m;
}

HippoMetrics *
hippo_metrics_from_predictions (const float *probs, guint n,
                                const guint *labels, const guint8 *label_matrix,
                                guint n_classes, double unsure_threshold,
                                GError **error)
{
  HippoMetrics *m;

  g_return_val_if_fail ((labels == NULL) != (label_matrix == NULL), NULL);
  g_return_val_if_fail (n == 0 || probs != NULL, NULL);
  g_return_val_if_fail (n_classes >= 1, NULL);

  if (!hippo_head_check_labels (labels, label_matrix, n, n_classes, TRUE,
                                error))
    return NULL;
  m = metrics_new (n, n_classes, labels, label_matrix, unsure_threshold);
  m->probs = g_memdup2 (probs, (gsize) n * n_classes * sizeof (float));
  compute (m);
  return m;
}

HippoMetrics *
hippo_metrics_from_training (const HippoHead *head, GError **error)
{
  const guint *labels;
  const guint8 *label_matrix;
  const float *oof;
  guint n;
  HippoMetrics *m;

  g_return_val_if_fail (head != NULL, NULL);

  oof = hippo_head_get_oof (head, &n, &labels, &label_matrix);
  if (oof == NULL)
    {
      g_set_error_literal (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                           "this head has no cross-validation predictions "
                           "(loaded from storage, or trained without "
                           "cross-validation)");
      return NULL;
    }
  m = metrics_new (n, hippo_head_get_n_classes (head), labels, label_matrix,
                   hippo_head_get_unsure_threshold (head));
  m->probs = g_memdup2 (oof, (gsize) n * m->n_classes * sizeof (float));
  m->folds = hippo_head_get_cv_folds (head);
  compute (m);
  return m;
}

typedef struct
{
  HippoProgressFunc func;
  gpointer data;
  guint fold;
  guint folds;
} FoldProgress;

static gboolean
fold_progress (guint64 done, guint64 total, gpointer user_data)
{
  FoldProgress *fp = user_data;
  guint64 part = total ? done * 1000 / total : 0;

  return fp->func ((guint64) fp->fold * 1000 + part, (guint64) fp->folds * 1000,
                   fp->data);
}

HippoMetrics *
hippo_metrics_cross_validate (const float *x, guint n, guint dim,
                              const guint *labels, const guint8 *label_matrix,
                              guint n_classes, guint folds,
                              const HippoHeadParams *params, guint64 seed,
                              HippoProgressFunc progress, gpointer user_data,
                              GError **error)
{
  HippoHeadParams defaults;
  g_autoptr (HippoMetrics) m = NULL;
  g_autofree guint *fold_of = NULL;
  g_autofree float *xtr = NULL;
  g_autofree float *xte = NULL;
  g_autofree float *pte = NULL;
  g_autofree guint *ytr = NULL;
  g_autofree guint8 *Ytr = NULL;
  g_autofree guint *test_ix = NULL;
  gboolean multi = label_matrix != NULL;
  guint k;
  gsize nd;

  g_return_val_if_fail ((labels == NULL) != (label_matrix == NULL), NULL);
  g_return_val_if_fail (n == 0 || x != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (params == NULL)
    {
      hippo_head_params_default (&defaults);
      params = &defaults;
    }
  g_return_val_if_fail (params->multi_label == multi, NULL);

  if (n_classes < (multi ? 1u : 2u))
    {
      g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                   "cross-validation needs at least two classes (%u given)",
                   n_classes);
      return NULL;
    }
  if (dim == 0 || !g_size_checked_mul (&nd, n, dim) || nd > G_MAXSIZE / 8)
    {
      g_set_error_literal (error, HIPPO_ERROR, HIPPO_ERROR_LIMIT,
                           "feature matrix empty or too large");
      return NULL;
    }
  if (!hippo_head_check_labels (labels, label_matrix, n, n_classes, FALSE,
                                error))
    return NULL;
  for (gsize t = 0; t < nd; t++)
    if (!isfinite (x[t]))
      {
        g_set_error (error, HIPPO_ERROR, HIPPO_ERROR_INVALID_ARGUMENT,
                     "feature vector %" G_GSIZE_FORMAT
                     " has a NaN or infinite value",
                     t / dim);
        return NULL;
      }

  fold_of = g_new (guint, n);
  k = hippo_head_assign_folds (labels, label_matrix, n, n_classes, folds, seed,
                               fold_of);
  if (k == 0)
    {
      g_set_error_literal (error, HIPPO_ERROR, HIPPO_ERROR_STATE,
                           "cross-validation needs a class with at least two "
                           "examples");
      return NULL;
    }

  m = metrics_new (n, n_classes, labels, label_matrix,
                   params->unsure_threshold);
  m->folds = k;
  m->probs = g_new (float, (gsize) n * n_classes);
  for (gsize t = 0; t < (gsize) n * n_classes; t++)
    m->probs[t] = NAN;
  xtr = g_new (float, nd);
  xte = g_new (float, nd);
  pte = g_new (float, (gsize) n * n_classes);
  test_ix = g_new (guint, n);
  if (multi)
    Ytr = g_new (guint8, (gsize) n * n_classes);
  else
    ytr = g_new (guint, n);

  for (guint f = 0; f < k; f++)
    {
      FoldProgress fp = { progress, user_data, f, k };
      g_autoptr (HippoHead) head = NULL;
      guint n_tr = 0, n_te = 0;

      for (guint i = 0; i < n; i++)
        {
          const float *xi = x + (gsize) i * dim;

          if (fold_of[i] == f)
            {
              memcpy (xte + (gsize) n_te * dim, xi, dim * sizeof (float));
              test_ix[n_te++] = i;
              continue;
            }
          memcpy (xtr + (gsize) n_tr * dim, xi, dim * sizeof (float));
          if (multi)
            memcpy (Ytr + (gsize) n_tr * n_classes,
                    label_matrix + (gsize) i * n_classes, n_classes);
          else
            ytr[n_tr] = labels[i];
          n_tr++;
        }
      head = hippo_head_train_full (
        xtr, n_tr, dim, multi ? NULL : ytr, multi ? Ytr : NULL, n_classes,
        params, TRUE, progress ? fold_progress : NULL, &fp, error);
      if (head == NULL)
        {
          if (!g_error_matches (*error, HIPPO_ERROR, HIPPO_ERROR_CANCELLED))
            g_prefix_error (error, "fold %u of %u: ", f + 1, k);
          return NULL;
        }
      hippo_head_predict (head, xte, n_te, pte);
      for (guint r = 0; r < n_te; r++)
        memcpy (m->probs + (gsize) test_ix[r] * n_classes,
                pte + (gsize) r * n_classes, n_classes * sizeof (float));
    }
  compute (m);
  if (progress)
    progress ((guint64) k * 1000, (guint64) k * 1000, user_data);
  return g_steal_pointer (&m);
}

/* --- getters ------------------------------------------------------------- */

guint
hippo_metrics_get_n_classes (const HippoMetrics *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->n_classes;
}

gboolean
hippo_metrics_get_multi_label (const HippoMetrics *m)
{
  g_return_val_if_fail (m != NULL, FALSE);
  return m->multi_label;
}

guint
hippo_metrics_get_n_samples (const HippoMetrics *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->n;
}

guint
hippo_metrics_get_n_tested (const HippoMetrics *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->n_tested;
}

guint
hippo_metrics_get_folds (const HippoMetrics *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->folds;
}

gboolean
hippo_metrics_is_tested (const HippoMetrics *m, guint index)
{
  g_return_val_if_fail (m != NULL && index < m->n, FALSE);
  return row_tested (m->probs + (gsize) index * m->n_classes, m->n_classes);
}

double
hippo_metrics_get_accuracy (const HippoMetrics *m)
{
  g_return_val_if_fail (m != NULL, NAN);
  return m->accuracy;
}

double
hippo_metrics_get_balanced_accuracy (const HippoMetrics *m)
{
  g_return_val_if_fail (m != NULL, NAN);
  return m->balanced_accuracy;
}

double
hippo_metrics_get_log_loss (const HippoMetrics *m)
{
  g_return_val_if_fail (m != NULL, NAN);
  return m->log_loss;
}

double
hippo_metrics_get_coverage (const HippoMetrics *m, double *sure_accuracy)
{
  g_return_val_if_fail (m != NULL, NAN);
  if (sure_accuracy)
    *sure_accuracy = m->sure_accuracy;
  return m->coverage;
}

void
hippo_metrics_get_class (const HippoMetrics *m, guint c, double *precision,
                         double *recall, double *f1, guint *support)
{
  double p, r;

  g_return_if_fail (m != NULL && c < m->n_classes);

  p = m->tp[c] + m->fp[c] ? (double) m->tp[c] / (m->tp[c] + m->fp[c]) : NAN;
  r = m->tp[c] + m->fn[c] ? (double) m->tp[c] / (m->tp[c] + m->fn[c]) : NAN;
  if (precision)
    *precision = p;
  if (recall)
    *recall = r;
  if (f1)
    *f1 = isnan (p) && isnan (r) ? NAN
          : m->tp[c] == 0        ? 0
                                 : 2 * p * r / (p + r);
  if (support)
    *support = m->tp[c] + m->fn[c];
}

const guint *
hippo_metrics_get_confusion (const HippoMetrics *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->confusion;
}

const float *
hippo_metrics_get_predictions (const HippoMetrics *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->probs;
}

/* --- reports ------------------------------------------------------------- */

/* The name of class c as valid UTF-8, at most max characters (0: all). */
static char *
class_name_max (const char *const *names, guint c, glong max)
{
  g_autofree char *name = NULL;

  if (names && names[c])
    name = g_utf8_make_valid (names[c], -1);
  else
    name = g_strdup_printf ("class %u", c);
  if (max > 0 && g_utf8_strlen (name, -1) > max)
    return g_utf8_substring (name, 0, max);
  return g_steal_pointer (&name);
}

static char *
class_name (const char *const *names, guint c)
{
  return class_name_max (names, c, 0);
}

/* Sentences about what was not measured. */
static GPtrArray *
notes (const HippoMetrics *m, const char *const *names)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  guint untested = m->n - m->n_tested;

  for (guint c = 0; c < m->n_classes; c++)
    {
      g_autofree char *name = class_name (names, c);
      guint support = m->tp[c] + m->fn[c];

      if (m->examples[c] > 0 && support == 0)
        g_ptr_array_add (
          a, g_strdup_printf ("%s has %u example%s: used for training only, "
                              "not tested",
                              name, m->examples[c],
                              m->examples[c] == 1 ? "" : "s"));
      else if (m->examples[c] == 0)
        g_ptr_array_add (a, g_strdup_printf ("%s has no examples here", name));
    }
  if (untested > 0)
    g_ptr_array_add (a, g_strdup_printf ("%u of %u examples got no "
                                         "prediction and are not counted",
                                         untested, m->n));
  return a;
}

static void
add_number (JsonBuilder *b, const char *key, double v)
{
  json_builder_set_member_name (b, key);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b, const char *key, gint64 v)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, v);
}

char *
hippo_metrics_to_json (const HippoMetrics *m, const char *const *class_names)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GPtrArray) nt = NULL;
  guint K;

  g_return_val_if_fail (m != NULL, NULL);

  K = m->n_classes;
  json_builder_begin_object (b);
  add_int (b, "n_samples", m->n);
  add_int (b, "n_tested", m->n_tested);
  add_int (b, "folds", m->folds);
  json_builder_set_member_name (b, "multi_label");
  json_builder_add_boolean_value (b, m->multi_label);
  add_number (b, "accuracy", m->accuracy);
  add_number (b, "balanced_accuracy", m->balanced_accuracy);
  add_number (b, "log_loss", m->log_loss);
  add_number (b, "unsure_threshold", m->unsure_threshold);
  add_number (b, "coverage", m->coverage);
  add_number (b, "sure_accuracy", m->sure_accuracy);

  json_builder_set_member_name (b, "classes");
  json_builder_begin_array (b);
  for (guint c = 0; c < K; c++)
    {
      g_autofree char *name = class_name (class_names, c);
      double p, r, f1;
      guint support;

      hippo_metrics_get_class (m, c, &p, &r, &f1, &support);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, name);
      add_number (b, "precision", p);
      add_number (b, "recall", r);
      add_number (b, "f1", f1);
      add_int (b, "support", support);
      add_int (b, "examples", m->examples[c]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  if (m->confusion)
    {
      json_builder_set_member_name (b, "confusion");
      json_builder_begin_array (b);
      for (guint c = 0; c < K; c++)
        {
          json_builder_begin_array (b);
          for (guint k = 0; k < K; k++)
            json_builder_add_int_value (b, m->confusion[(gsize) c * K + k]);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
    }

  json_builder_set_member_name (b, "untested");
  json_builder_begin_array (b);
  for (guint i = 0; i < m->n; i++)
    if (!row_tested (m->probs + (gsize) i * K, K))
      json_builder_add_int_value (b, i);
  json_builder_end_array (b);

  nt = notes (m, class_names);
  json_builder_set_member_name (b, "notes");
  json_builder_begin_array (b);
  for (guint j = 0; j < nt->len; j++)
    json_builder_add_string_value (b, g_ptr_array_index (nt, j));
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

/* Appends s padded with spaces to width characters (UTF-8 aware). */
static void
pad (GString *out, const char *s, guint width, gboolean right)
{
  glong len = g_utf8_strlen (s, -1);

  if (right)
    for (glong j = len; j < width; j++)
      g_string_append_c (out, ' ');
  g_string_append (out, s);
  if (!right)
    for (glong j = len; j < width; j++)
      g_string_append_c (out, ' ');
}

static void
fmt3 (GString *out, double v)
{
  if (isnan (v))
    g_string_append (out, "      -");
  else
    g_string_append_printf (out, " %6.3f", v);
}

char *
hippo_metrics_to_text (const HippoMetrics *m, const char *const *class_names)
{
  GString *out;
  g_autoptr (GPtrArray) nt = NULL;
  guint K, w = 5, cw = 4;

  g_return_val_if_fail (m != NULL, NULL);

  out = g_string_new (NULL);
  K = m->n_classes;
  for (guint c = 0; c < K; c++)
    {
      g_autofree char *name = class_name_max (class_names, c, 40);
      w = MAX (w, (guint) g_utf8_strlen (name, -1));
    }
  if (m->confusion)
    for (gsize t = 0; t < (gsize) K * K; t++)
      {
        g_autofree char *num = g_strdup_printf ("%u", m->confusion[t]);
        cw = MAX (cw, (guint) strlen (num) + 1);
      }

  if (m->n_tested == 0)
    g_string_append_printf (out, "No example of %u got a prediction.\n\n",
                            m->n);
  else
    {
      g_string_append_printf (out,
                              "Accuracy %.1f %% (balanced %.1f %%) on %u "
                              "of %u examples",
                              100 * m->accuracy, 100 * m->balanced_accuracy,
                              m->n_tested, m->n);
      if (m->folds > 0)
        g_string_append_printf (out, ", %u-fold cross-validation", m->folds);
      if (m->multi_label)
        g_string_append (out, " (all labels right)");
      g_string_append_printf (out,
                              "\nLog-loss %.3f; %.1f %% of predictions at "
                              "or above %.2f confidence",
                              m->log_loss, 100 * m->coverage,
                              m->unsure_threshold);
      if (!isnan (m->sure_accuracy))
        g_string_append_printf (out, ", %.1f %% of those right",
                                100 * m->sure_accuracy);
      g_string_append (out, "\n\n");
    }

  g_string_append (out, "  # ");
  pad (out, "class", w, FALSE);
  g_string_append (out, " precision recall     f1 support\n");
  for (guint c = 0; c < K; c++)
    {
      g_autofree char *shown = class_name_max (class_names, c, 40);
      double p, r, f1;
      guint support;

      hippo_metrics_get_class (m, c, &p, &r, &f1, &support);
      g_string_append_printf (out, "%3u ", c);
      pad (out, shown, w, FALSE);
      g_string_append (out, "   ");
      fmt3 (out, p);
      fmt3 (out, r);
      fmt3 (out, f1);
      g_string_append_printf (out, " %7u\n", support);
    }

  if (m->confusion)
    {
      g_string_append (out, "\nConfusion (rows = true class, columns = "
                            "predicted, by #):\n    ");
      pad (out, "", w, FALSE);
      for (guint k = 0; k < K; k++)
        {
          g_autofree char *num = g_strdup_printf ("%u", k);
          pad (out, num, cw, TRUE);
        }
      g_string_append_c (out, '\n');
      for (guint c = 0; c < K; c++)
        {
          g_autofree char *shown = class_name_max (class_names, c, 40);

          g_string_append_printf (out, "%3u ", c);
          pad (out, shown, w, FALSE);
          for (guint k = 0; k < K; k++)
            {
              g_autofree char *num
                = g_strdup_printf ("%u", m->confusion[(gsize) c * K + k]);
              pad (out, num, cw, TRUE);
            }
          g_string_append_c (out, '\n');
        }
    }

  nt = notes (m, class_names);
  if (nt->len > 0)
    g_string_append_c (out, '\n');
  for (guint j = 0; j < nt->len; j++)
    g_string_append_printf (out, "Note: %s.\n",
                            (const char *) g_ptr_array_index (nt, j));
  return g_string_free (out, FALSE);
}
