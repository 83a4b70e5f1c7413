// The registry collects what each technique's own file registers: all seven, in the documented order
// whatever order the files initialised in, each with its parameters, and every default valid for its spec.
// This program links the core as every other program does (core/CMakeLists.txt), so it also shows that no
// registration was dropped by the linker.
#include <QtTest>
#include <algorithm>
#include <map>
#include <set>

#include "core/technique_registry.h"
#include "tests/test_support.h"

using namespace quantscope;

class TestTechniqueRegistry : public QObject {
  Q_OBJECT
 private slots:
  void holdsExactlyTheSevenInTheDocumentedOrder() {
    const std::vector<std::string> documented{"dynamic", "static",  "qat",         "fx",
                                              "mixed",   "pruning", "distillation"};
    const std::vector<std::string> documentedApi{"dynamic_quantization",
                                                 "static_quantization",
                                                 "quantization_aware_training",
                                                 "fx_graph_mode_quantization",
                                                 "mixed_precision_quantization",
                                                 "pruning_aware_quantization",
                                                 "knowledge_distillation_quantization"};
    const auto& techniques = TechniqueRegistry::instance().techniques();
    QCOMPARE(techniques.size(), documented.size());
    for (size_t i = 0; i < techniques.size(); ++i) {
      QCOMPARE(techniques[i].name, documented[i]);
      QCOMPARE(techniques[i].apiFunction, documentedApi[i]);
      QCOMPARE(techniques[i].listPosition, int(i) + 1);
    }
  }

  void eachTechniqueIsCompleteWithItsParameters() {
    const std::set<std::string> training{"qat", "pruning", "distillation"};
    for (const TechniqueDescriptor& t : TechniqueRegistry::instance().techniques()) {
      const char* name = t.name.c_str();
      QVERIFY2(t.available, name);
      QVERIFY2(static_cast<bool>(t.run), name);
      QVERIFY2(!t.displayName.empty() && !t.summary.empty(), name);
      QVERIFY2(!t.layerTypes.empty(), name);
      QCOMPARE(t.trains, training.count(t.name) == 1);
      QCOMPARE(t.needsCalibration, t.name != "dynamic");
      QVERIFY2(!t.params.empty(), name);
      std::set<std::string> names;
      for (const ParamSpec& p : t.params) {
        QVERIFY2(!p.help.empty(), (t.name + "." + p.name).c_str());
        QVERIFY2(names.insert(p.name).second, (t.name + " repeats " + p.name).c_str());
      }
      // Every default is a valid value of its own spec: resolving nothing gives exactly the defaults.
      const ParamValues defaults = TechniqueRegistry::instance().resolveParams(t.name, {});
      QCOMPARE(defaults.size(), t.params.size());
      for (const ParamSpec& p : t.params) QCOMPARE(defaults.at(p.name), p.defaultValue);
    }
  }

  void theParametersEachTechniqueIsDocumentedToTake() {
    // A few parameters per technique that the README and the documented API name; the full lists are
    // each technique's own (and grow), so this checks presence, not the whole list.
    const std::map<std::string, std::vector<std::string>> documented{
        {"dynamic", {"dtype", "qconfig", "engine", "weight_granularity", "embeddings"}},
        {"static", {"qconfig", "engine", "observer", "calib_samples", "embeddings"}},
        {"qat", {"qconfig", "epochs", "freeze_bn_epoch", "freeze_observer_epoch", "lr"}},
        {"fx", {"qconfig", "example_inputs", "observer", "calib_samples"}},
        {"mixed", {"bits_weights", "bits_activations", "layer_bits", "search", "candidate_bits"}},
        {"pruning", {"pruning_rate", "structure", "scope", "schedule", "finetune_epochs"}},
        {"distillation", {"temperature", "alpha", "student", "seeds", "epochs"}}};
    for (const auto& [technique, params] : documented) {
      const TechniqueDescriptor& t = TechniqueRegistry::instance().find(technique);
      for (const std::string& param : params) {
        const bool found = std::any_of(t.params.begin(), t.params.end(),
                                       [&](const ParamSpec& p) { return p.name == param; });
        QVERIFY2(found, qPrintable(QString::fromStdString(technique + " has no " + param)));
      }
    }
  }

  void unknownNamesAreRefusedWithTheList() {
    test::expectError([] { TechniqueRegistry::instance().find("int4"); },
                      {"Unknown technique 'int4'", "dynamic, static, qat, fx, mixed, pruning, distillation"});
    // The documented API's function names find the same entries.
    QCOMPARE(TechniqueRegistry::instance().find("knowledge_distillation_quantization").name,
             std::string("distillation"));
  }
};

QTEST_GUILESS_MAIN(TestTechniqueRegistry)
#include "test_technique_registry.moc"
