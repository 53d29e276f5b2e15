"""The one exception family of xaiscope.

Every error a user can cause (a bad file, missing weights, a checkpoint that does not fit) is raised as a
subclass of :class:`XaiscopeError`. Its message is written for the person at the keyboard: the first part says
what is wrong, ``hint`` says what to do about it. The CLI prints ``str(error)`` without a traceback and exits
with status 2; the app shows the same text in the page.

Messages never contain patient identifiers: DICOM errors name tags and transfer syntaxes, never values of
identifying attributes.
"""

from __future__ import annotations


class XaiscopeError(Exception):
    """Base of every user-facing xaiscope error.

    Args:
        problem: what is wrong, in one or two plain sentences.
        hint: what the user can do about it.
    """

    def __init__(self, problem: str, hint: str = "") -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(problem if not hint else f"{problem}\nWhat to do: {hint}")


# --- inputs -------------------------------------------------------------------------------------------------


class InputError(XaiscopeError):
    """An input file or byte string cannot be used."""


class UnreadableInputError(InputError):
    """The file does not exist, cannot be opened, or its content is damaged."""


class EmptyInputError(InputError):
    """The file has zero bytes."""


class UnknownFormatError(InputError):
    """The bytes are not one of the supported audio or image formats."""


class EmptyAudioError(InputError):
    """The audio file decodes to zero samples."""


class SilentAudioError(InputError):
    """Every sample of the recording is (near) zero, so there is nothing to classify."""


class AudioTooLongError(InputError):
    """The recording is longer than the stated limit."""


class AudioTooShortError(InputError):
    """The recording is shorter than the stated minimum."""


class InputTooLargeError(InputError):
    """The file is larger than the stated limit in bytes."""


class ImageSizeError(InputError):
    """The image is smaller or larger than the stated limits."""


class DicomError(InputError):
    """A DICOM file that cannot be turned into an image (no pixel data, undecodable compression...)."""


class ModalityMismatchError(InputError):
    """The input is of another modality than the model or the caller asked for."""


# --- models -------------------------------------------------------------------------------------------------


class ModelError(XaiscopeError):
    """A model cannot be found, built or loaded."""


class UnknownModelError(ModelError):
    """No model or architecture of that name exists."""


class WeightsNotFoundError(ModelError):
    """The model is known but its weights file is in none of the searched folders."""


class WeightsMismatchError(ModelError):
    """The weights do not fit the architecture (missing, unexpected or mis-shaped keys)."""


class NotACheckpointError(ModelError):
    """The file is not a state_dict or safetensors checkpoint."""


class UnsafeCheckpointError(ModelError):
    """The file is a pickle that would import or call code; it was refused and never executed."""


class CardError(ModelError):
    """A model card is missing, unreadable or inconsistent."""


# --- data sets ----------------------------------------------------------------------------------------------


class DataError(XaiscopeError):
    """A data set cannot be used for training or evaluation."""


class DataNotFoundError(DataError):
    """The data folder, a split folder or a CSV file does not exist."""


class DataLayoutError(DataError):
    """The folder is not laid out as the named data set (FoR, CheXpert, folder per class) expects."""


class NoSamplesError(DataError):
    """A split holds no usable samples after the stated filtering rules."""


class ClassMismatchError(DataError):
    """The data set's classes do not match the model's classes."""


# --- training -----------------------------------------------------------------------------------------------


class TrainingError(XaiscopeError):
    """A training or evaluation run cannot start or continue."""


class ConfigError(TrainingError):
    """The training configuration has an unknown key, a wrong type or a value out of range."""


class ResumeError(TrainingError):
    """The saved training state cannot be resumed (damaged, or written with different settings)."""


# --- explanations and their evaluation ----------------------------------------------------------------------


class ExplanationError(XaiscopeError):
    """An explanation cannot be computed with these settings (unknown method, bad parameter, unsuited model)."""


class EvaluationError(XaiscopeError):
    """An evaluation cannot run with these settings (unknown metric, bad parameter, unusable ground truth)."""


class Stopped(XaiscopeError):
    """The user stopped a long computation (an explanation or an evaluation) while it was running."""


#: The name explainers and the app have always used for :class:`Stopped`.
ExplanationStopped = Stopped
