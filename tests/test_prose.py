"""Prose hygiene: LaTeX from abstracts rendered or rejected, the rules a draft sentence keeps."""

import pytest

from assistant.prose import MAX_WORDS, is_clean, plain_text


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        (r"$\mathcal{C}$o-DETR trains faster", "Co-DETR trains faster"),
        (r"a $4\times$ speed-up and $4.5\times$ fewer", "a 4× speed-up and 4.5× fewer"),
        (r"with $\sim1M$ images", "with ~1M images"),
        (r"$S^2AP$ prunes tokens", "S2AP prunes tokens"),
        (r"a \textbf{fast} and \emph{\textit{simple}} net", "a fast and simple net"),
        (r"priors, \eg, shapes, as in \cite{smith}", "priors, e.g., shapes, as in"),
        (r"up to 50\% fewer", "up to 50% fewer"),
        (r"code at \url{https://x.org}", "code at https://x.org"),
        ("balancing ``implicit knowledge'' and", "balancing “implicit knowledge” and"),
        ("a loss `ArcNegFace', the model's own", "a loss ‘ArcNegFace’, the model's own"),
        ('with a ``soft" convolutional bias', "with a “soft” convolutional bias"),
        ("a loss `ArcNegFace` and", "a loss ‘ArcNegFace’ and"),
        # A listing that lost the backslash (T2T-ViT's abstract); "3 times" is a word.
        ("resolution 384times384, 3 times faster", "resolution 384×384, 3 times faster"),
        # TeX's tie is a space (a blind read found "Sub-centers Learning~(ESL)"); "~50%" is
        # "about 50%".
        ("Sub-centers Learning~(ESL) and ~50% fewer", "Sub-centers Learning (ESL) and ~50% fewer"),
    ],
)
def test_latex_in_abstracts_becomes_plain_text(raw, plain):
    assert plain_text(raw) == plain


def test_an_authors_own_macro_is_left_for_the_check_to_reject():
    text = plain_text(r"Experiments show \model outperforms baselines.")
    assert "\\model" in text and not is_clean(text)


@pytest.mark.parametrize(
    "sentence",
    [
        "We propose a detector that trains faster [1].",
        "Our method outperforms the baselines [2].",
        "The code is at https://github.com/x [1].",
        "It reaches $40$ AP [1].",
        " ".join(["word"] * (MAX_WORDS + 1)) + " [1].",
    ],
)
def test_first_person_links_raw_math_and_long_sentences_are_not_clean(sentence):
    assert not is_clean(sentence)


def test_a_third_person_sentence_of_readable_length_is_clean():
    assert is_clean("Huang et al. propose a detector that needs no post-processing [1].")


@pytest.mark.parametrize(
    "sentence",
    [
        "OvarNet makes two contributions: (i) a two-stage baseline and (ii) a federated one [1].",
        "All in an Aggregated Image introduces In-Image Learning (I^2L) for multimodal models [1].",
        "I-JEPA predicts the representations of masked image blocks [1].",
    ],
)
def test_enumerations_and_method_names_are_no_first_person(sentence):
    assert is_clean(sentence)


@pytest.mark.parametrize(
    ("sentence", "clean"),
    [
        ("Finally, (iv) conducts extensive experiments on VAW and OVAD [3].", False),
        ("It then 2) trains modality-specific experts on instruction data [1].", False),
        ("Uni-MoE 1) aligns modalities, 2) trains experts and 3) tunes with LoRA [1].", True),
        ("The hybrid model (ViT-B/16) reaches 84.1% accuracy [2].", True),
        ("One may question: does a training scheme for ViTs exist? [5].", False),
    ],
)
def test_a_list_item_without_its_first_or_a_question_is_not_clean(sentence, clean):
    assert is_clean(sentence) is clean


def test_the_pronoun_i_is_first_person():
    assert not is_clean("In this work I propose a detector that trains faster [1].")


@pytest.mark.parametrize(
    ("sentence", "who", "several", "expected"),
    [
        ("We also introduce I^2L-Hybrid.", "Wang", False, "Wang also introduces I^2L-Hybrid."),
        ("We then carefully design X.", "Kim", False, "Kim then carefully designs X."),
        ("This paper also describes X.", "Kim et al.", True, "Kim et al. also describe X."),
        (
            "We simply apply contrastive learning.",
            "Kim",
            False,
            "Kim simply applies contrastive learning.",
        ),
        ("We apply contrastive learning.", "Kim", False, "Kim applies contrastive learning."),
        ("We rely on CLIP features.", "Kim", False, "Kim relies on CLIP features."),
        # Irregular verbs: "is" lost its "s" ("Chen et al. i notable"), "have" gained one.
        ("This paper is notable for X.", "Chen et al.", True, "Chen et al. are notable for X."),
        ("This paper has two parts.", "Chen et al.", True, "Chen et al. have two parts."),
        ("This paper does X.", "Chen et al.", True, "Chen et al. do X."),
        ("We have shown X.", "Kim", False, "Kim has shown X."),
        ("We are the first to do X.", "Kim", False, "Kim is the first to do X."),
        ("We were the first.", "Kim", False, "Kim was the first."),
        # "discuss" ends in "s" and is no singular; "employ" is no "emploies"; a second verb
        # joined by "and" agrees too ("NVLM crafts and integrate" read in a draft).
        ("We also discuss X.", "Kim", False, "Kim also discusses X."),
        ("We focus on X.", "Kim", False, "Kim focuses on X."),
        ("We employ X.", "Kim", False, "Kim employs X."),
        ("We craft and integrate X.", "NVLM", False, "NVLM crafts and integrates X."),
        # A report's future is its present when it is read (a blind read: "will present").
        (
            "In this report, we will present solutions to X.",
            "Zhang et al.",
            True,
            "Zhang et al. present solutions to X.",
        ),
        ("We will show X.", "Kim", False, "Kim shows X."),
        (
            "We design and implementation of X.",
            "Kim",
            False,
            "Kim designs and implementation of X.",
        ),
    ],
)
def test_an_adverb_before_the_verb_keeps_the_verb_in_agreement(sentence, who, several, expected):
    from assistant.text import third_person

    assert third_person(sentence, who, several) == expected


def test_an_abstract_sentence_opening_in_this_paper_we_stands_in_a_draft():
    from conftest import make_paper

    from assistant.writing import evidence_sentence

    paper = make_paper(
        title="OvarNet: Towards Open-vocabulary Object Attribute Recognition",
        abstract=(
            "In this paper, we consider the problem of detecting objects and inferring their "
            "visual attributes without manual annotations. However, the rest is a long tale."
        ),
        authors=[],
    )
    sentence = evidence_sentence(paper, 1)
    assert sentence is not None and sentence.startswith("OvarNet considers the problem")


def test_a_draft_cites_a_paper_for_its_method_not_for_a_cause_of_something_unsaid():
    from conftest import make_paper

    from assistant.text import own_names
    from assistant.writing import evidence_sentence

    paper = make_paper(
        title="Tokens-to-Token ViT: Training Vision Transformers from Scratch",
        abstract=(
            "However, ViT achieves inferior performance to CNNs. We find it is because: 1) the "
            "tokenization fails; 2) the backbone is redundant. To overcome such limitations, "
            "we propose a new Tokens-To-Token Vision Transformer (T2T-ViT), which aggregates "
            "neighbouring tokens. For example, T2T-ViT reaches 83.3% top-1 accuracy."
        ),
        authors=[],
    )
    assert own_names(paper) == ["Tokens-to-Token ViT", "T2T-ViT"]
    # The opening the third person drops ("To overcome such limitations, ...") leaves a
    # sentence that stands; "finds it is because" explains an "it" the draft never names.
    assert evidence_sentence(paper, 1) == (
        "Tokens-to-Token ViT proposes a new Tokens-To-Token Vision Transformer (T2T-ViT), "
        "which aggregates neighbouring tokens [1]."
    )


@pytest.mark.parametrize(
    ("title", "abstract", "name"),
    [
        ("Mug-STAN: Adapting Image-Language Models", "We adapt models.", "Mug-STAN"),
        (
            "Shrinking Class Space",
            "We present a method dubbed ShrinkMatch, which...",
            "ShrinkMatch",
        ),
        (
            "Learning to Prompt",
            "We propose Context Optimization (CoOp), a simple approach.",
            "CoOp",
        ),
        ("Efficient Search", "To this end, we present ViT-ResNAS, an architecture.", "ViT-ResNAS"),
        # The field's acronyms, another paper's method, ordinary words: no name.
        ("Fusing Models", "We propose to fuse frozen large language models (LLMs).", None),
        (
            "Selectable Networks",
            "The recently proposed Kolmogorov-Arnold Network (KAN) works.",
            None,
        ),
        ("Free Prompts", "We propose Training-Free prompts; being training-free helps.", None),
        ("Multimodal Large Language Models Distil", "We propose Multimodal Models (MLLMs).", None),
        # A title's head that is a phrase is no name; the abstract's coinage is.
        (
            "Look, Compare, Decide: Alleviating Hallucination",
            "Experiments show that our proposed MVP mitigates hallucination.",
            "MVP",
        ),
        ("Less is More: Reducing Complexity", "We study point clouds.", None),
        # The field's term, grown from an abbreviation, is no coinage.
        (
            "Pruning by Explaining: A Criterion",
            "In this paper, we propose a criterion drawn from explainable AI (XAI).",
            None,
        ),
        # The method names the paper before the dataset it also releases.
        (
            "Beyond One-to-One: Rethinking Segmentation",
            "First, we propose a Dual Multi-Modal Interaction (DMMI) Network. Secondly, we "
            "collect a new dataset called Ref-ZOM.",
            "DMMI",
        ),
        # A plural is the field's: "large kernel ConvNets".
        ("Scaling Up Kernels", "We propose to design large kernel ConvNets.", None),
    ],
)
def test_a_paper_is_named_by_the_name_it_gives_its_method(title, abstract, name):
    from conftest import make_paper

    from assistant.text import method_name, short_name

    paper = make_paper(title=title, abstract=abstract)
    assert method_name(paper) == name
    if name:
        assert short_name(paper) == name
    # Authors come first: "Zhu et al." however the method is called.
    assert (
        short_name(make_paper(title=title, abstract=abstract, authors=["Li Zhu", "A B", "C D"]))
        == "Zhu et al."
    )


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "PyramidDrop proposes PyramidDrop, a visual redundancy reduction strategy [4].",
            "PyramidDrop proposes a visual redundancy reduction strategy [4].",
        ),
        (
            "Align and Prompt proposes Align and Prompt: an efficient pre-training framework [6].",
            "Align and Prompt proposes an efficient pre-training framework [6].",
        ),
        (  # no article after the name: left as it is
            "Mug-STAN introduces Mug-STAN, adapting image-language models to video [8].",
            "Mug-STAN introduces Mug-STAN, adapting image-language models to video [8].",
        ),
        ("Kim et al. propose a detector [1].", "Kim et al. propose a detector [1]."),
        (  # the relative clause says what the paper does
            "Cross the Gap proposes Cross the Gap, which shows that the practice is suboptimal [1].",
            "Cross the Gap shows that the practice is suboptimal [1].",
        ),
        (  # the purpose is said of the method
            "TopKLD proposes TopKLD to optimize the transfer of distilled knowledge [1].",
            "TopKLD is proposed to optimize the transfer of distilled knowledge [1].",
        ),
        (
            "Quantune introduces Quantune to accelerate the search [3].",
            "Quantune is introduced to accelerate the search [3].",
        ),
        (  # the acronym moves to the subject
            "Mixture-of-Transformers introduces Mixture-of-Transformers (MoT), a sparse "
            "multi-modal transformer architecture [12].",
            "Mixture-of-Transformers (MoT) introduces a sparse multi-modal transformer "
            "architecture [12].",
        ),
        (  # the name after the noun it names
            "DeepStack presents a new architecture DeepStack for LMMs [2].",
            "DeepStack presents a new architecture for LMMs [2].",
        ),
        (  # the name before its noun
            "Video DataFlywheel introduces the Video DataFlywheel framework, which refines "
            "annotations [8].",
            "Video DataFlywheel introduces a framework, which refines annotations [8].",
        ),
        (  # "called" goes with the name it introduced
            "IRRA proposes a novel framework called IRRA that aligns tokens [1].",
            "IRRA proposes a novel framework that aligns tokens [1].",
        ),
        (  # "that" as "which"
            "ViT-Lens presents ViT-Lens that facilitates omni-modal representation learning [3].",
            "ViT-Lens facilitates omni-modal representation learning [3].",
        ),
        (  # after an adverb of sequence too
            "CLIP-MoE also proposes CLIP-MoE, a simple yet effective strategy [11].",
            "CLIP-MoE also proposes a simple yet effective strategy [11].",
        ),
        (  # defined after its own use: the long form moves to the subject (a blind read)
            "MultiMAE proposes a pre-training strategy called Multi-modal Multi-task Masked "
            "Autoencoders (MultiMAE) [3].",
            "MultiMAE (Multi-modal Multi-task Masked Autoencoders) proposes a pre-training "
            "strategy [3].",
        ),
        (  # the method proposing itself is what the object says (the eleventh blind read)
            "DMMI proposes a Dual Multi-Modal Interaction (DMMI) Network, which contains two "
            "decoder branches [6].",
            "DMMI is a Dual Multi-Modal Interaction Network, which contains two decoder "
            "branches [6].",
        ),
        (  # the long form its name's, what it is after the comma
            "CoOp proposes Context Optimization (CoOp), a simple approach for adapting CLIP [4].",
            "CoOp (Context Optimization) is a simple approach for adapting CLIP [4].",
        ),
        (  # authors propose: as it is
            "Liu et al. propose a Dual Network (DN) [2].",
            "Liu et al. propose a Dual Network (DN) [2].",
        ),
        (  # another use of the name is no repetition
            "AIM proposes a method that AIM applies to video LLMs [1].",
            "AIM proposes a method that AIM applies to video LLMs [1].",
        ),
    ],
)
def test_a_name_said_again_as_its_own_object_is_said_once(sentence, expected):
    from assistant.text import named_once

    assert named_once(sentence) == expected


def test_a_papers_name_is_no_first_person():
    sentence = "Scaling Up Your Kernels proposes large convolutional kernels for ConvNets [1]."
    assert not is_clean(sentence)  # "Your", read as a word of the sentence
    assert is_clean(sentence, ("Scaling Up Your Kernels",))


def test_the_proposed_method_is_called_by_its_name():
    from assistant.text import proposed_named, third_person_of
    from tests.conftest import make_paper

    obow = make_paper(
        "obow", title="OBoW: Online Bag-of-Visual-Words Generation",
        authors=["Spyros Gidaris", "Andrei Bursuc"], more_authors=True,
    )  # fmt: skip
    lifted = "Extensive experiments show that our proposed method outperforms prior work by 10%."
    assert third_person_of(lifted, obow) == (
        "According to Gidaris et al., extensive experiments show that OBoW outperforms prior "
        "work by 10%."
    )
    # Where the sentence names it already, or the paper gives its method no name: as written.
    named = "OBoW beats the proposed method of [3]."
    assert proposed_named(named, obow) == named
    unnamed = make_paper("u", title="Learning without labels")
    assert proposed_named(lifted, unnamed) == lifted
    # With the name's initials between: the name; with another name between: as written.
    ewa = make_paper("ewa", title="Experts Weights Averaging: A New General Training Scheme")
    initials = "The proposed EWA technique improves naive MoE [4]."
    assert proposed_named(initials, ewa) == "Experts Weights Averaging improves naive MoE [4]."
    other = "The proposed DMU technique improves naive MoE [4]."
    assert proposed_named(other, ewa) == other
    # With its name between, a task or a loss is the method too; without one, it is not.
    croco = make_paper("croco", title="CroCo: Self-Supervised Pre-training for 3D Vision Tasks")
    task = "The proposed CroCo task is a pre-training approach for 3D vision tasks [4]."
    assert (
        proposed_named(task, croco) == "CroCo is a pre-training approach for 3D vision tasks [4]."
    )
    unnamed_task = "Our new task needs no labels [4]."
    assert proposed_named(unnamed_task, croco) == unnamed_task


@pytest.mark.parametrize(
    ("title", "named"),
    [
        ("Escaping Plato's Cave: Towards the Alignment of 3D and Text", "“Escaping Plato's Cave”"),
        ("Align, Reason and Learn: Medical Pre-training", "“Align, Reason and Learn”"),
        ("Swin Transformer: Hierarchical Vision Transformer", "Swin Transformer"),
        ("HorNet: Efficient High-Order Spatial Interactions", "HorNet"),
        # A whole title is not cut: no "…" after its last word.
        (
            "Generating Images with Multimodal Language Models",
            "“Generating Images with Multimodal Language Models”",
        ),
        (
            "Designing BERT for Convolutional Networks: Sparse and Hierarchical Masked Modeling",
            "“Designing BERT for Convolutional Networks”",
        ),
        (
            "Compositional Scene Representation Learning via Reconstruction and Beyond",
            "“Compositional Scene Representation Learning via Reconstruction…”",
        ),
    ],
)
def test_a_paper_without_authors_or_a_coined_name_is_named_by_its_quoted_title(title, named):
    from conftest import make_paper

    from assistant.text import short_name

    assert short_name(make_paper(title=title, abstract="We study things.", authors=[])) == named


def test_two_papers_named_alike_in_one_draft_are_told_apart_by_their_year():
    from conftest import make_paper

    from assistant.text import told_apart

    authors = ["Wei Wang", "A B", "C D"]
    old = make_paper("old", title="Reward Models", authors=authors, year=2023)
    new = make_paper("new", title="Preference Tuning", authors=authors, year=2024)
    also = make_paper("also", title="Process Rewards", authors=authors, year=2024)
    other = make_paper("other", title="Search", authors=["Li Zhu", "E F", "G H"])
    papers = {1: old, 2: new, 3: other}
    said = ["Wang et al. train a reward model [1].", "Zhu et al. search [3]; Wang et al. tune [2]."]
    assert told_apart(said, papers) == [
        "Wang et al. (2023) train a reward model [1].",
        "Zhu et al. search [3]; Wang et al. (2024) tune [2].",
    ]
    # One year: "2024a", "2024b", in the order of the numbers; a name alone stays as it is.
    assert told_apart(["Wang et al. tune [2] and Wang et al. score [4]."], {2: new, 4: also}) == [
        "Wang et al. (2024a) tune [2] and Wang et al. (2024b) score [4]."
    ]
    assert told_apart(said, {1: old, 3: other}) == said
    li = [make_paper(f"li{y}", authors=["Li", "Chen"], year=y) for y in (2022, 2023)]
    assert told_apart(["Li and Chen fuse LiDAR [1]."], dict(enumerate(li, 1))) == [
        "Li and Chen (2022) fuse LiDAR [1]."
    ]
